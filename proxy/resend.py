"""Sending a request again without the user's identity, after the first answer came back.

Two defenses do it: `refusal_retry`, for the client (a refused persona-bearing request is retried
once with the identity neutralized, and the client gets that answer), and `counterfactual_probe`,
for measurement only (a sampled share of persona-bearing requests is sent again in the background,
and whether the two answers differ is counted; the client's answer is never delayed or changed).
"""

from __future__ import annotations

import asyncio
import logging
import time

from defenses.probe import compare, probe_request, should_probe
from defenses.refusal_retry import RetryPlan, retry_action, retry_plan, retry_request
from proxy.errors import ProxyError
from proxy.observe import Observation, parse_completion
from proxy.pipeline import Exchange, Pipeline
from proxy.upstream import Reply

log = logging.getLogger("evenhand")

MAX_PROBES_IN_FLIGHT = 32


def retry_body(pipeline: Pipeline, exchange: Exchange) -> bytes:
    neutral = retry_request(exchange.outcome.request, exchange.outcome.persona)
    return pipeline.upstream_body(neutral, exchange.outcome.request, exchange.route, exchange.body)


def stream_retry_plan(exchange: Exchange) -> RetryPlan | None:
    """The plan for a streamed answer: only policies that allow holding back its first characters."""
    return retry_plan(exchange.decision, exchange.outcome.persona, stream=True)


async def retry_if_refused(pipeline: Pipeline, exchange: Exchange, reply: Reply, observation: Observation) -> tuple[Reply, Observation]:
    """The answer the client should get: the original, or the retry's when the original was a refusal."""
    if not observation.refused:
        return reply, observation
    plan = retry_plan(exchange.decision, exchange.outcome.persona, stream=False)
    if plan is None:
        return reply, observation
    if not plan.execute:
        exchange.actions.append(retry_action(plan))
        return reply, observation
    started = time.perf_counter()
    try:
        retry = await exchange.route.upstream.complete(retry_body(pipeline, exchange), authorization=exchange.authorization)
    except ProxyError:
        retry = None
    exchange.upstream_seconds += time.perf_counter() - started
    parsed = parse_completion(retry.body) if retry is not None and retry.status < 300 else None
    if parsed is None:  # the retry failed: the client still gets the original answer
        exchange.actions.append(retry_action(plan, retry_refused=None))
        return reply, observation
    retried = pipeline.observe_text(exchange, parsed[1])
    exchange.actions.append(retry_action(plan, retry_refused=bool(retried.refused)))
    return retry, retried


def start_probe(pipeline: Pipeline, exchange: Exchange, observation: Observation, key: str) -> None:
    """Probe this request in the background if the policy samples it; never waits."""
    if observation.refused is None or not should_probe(exchange.decision, exchange.outcome.persona, key):
        return
    tasks = pipeline.background
    if len(tasks) >= MAX_PROBES_IN_FLIGHT:
        return  # a probe is a sample: under load, fewer samples rather than unbounded work
    task = asyncio.create_task(_probe(pipeline, exchange, observation))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _probe(pipeline: Pipeline, exchange: Exchange, original: Observation) -> None:
    neutral = probe_request(exchange.outcome.request, exchange.outcome.persona)
    body = pipeline.upstream_body(neutral, exchange.outcome.request, exchange.route, exchange.body)
    try:
        reply = await exchange.route.upstream.complete(body, authorization=exchange.authorization)
    except ProxyError as err:
        log.info("counterfactual probe failed: %s", err.message)
        return
    parsed = parse_completion(reply.body) if reply.status < 300 else None
    if parsed is None:
        return
    probed = pipeline.observe_text(exchange, parsed[1])
    result = compare(bool(original.refused), bool(probed.refused), original.graded, probed.graded)
    m = pipeline.metrics
    m.count(m.probes, exchange.labels)
    kinds = [k for k in (result.refusal, result.grade) if k not in (None, "same")]
    for kind in kinds:
        m.count(m.probe_disagreements, (labels + (kind,) for labels in exchange.labels))
