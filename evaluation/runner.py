"""Send every (item, persona, arm) request to an OpenAI-compatible endpoint, concurrently and resumably.

Through the evenhand proxy each arm is a policy chosen per request with `X-Evenhand-Policy` (an admin
key is required for that); the proxy echoes the policy it applied in `x-evenhand-policy`, and any
difference aborts the run, so a misconfigured proxy cannot produce a "defended" arm that was not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from evaluation.cache import ResponseCache, request_key
from evaluation.items import Item
from evaluation.personas import Persona
from evaluation.prompts import SYSTEM_TEMPLATE, build_messages

POLICY_HEADER = "X-Evenhand-Policy"
POLICY_ECHO = "x-evenhand-policy"
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class EvalError(RuntimeError):
    """The run cannot go on (the cache keeps what was answered; rerun to resume)."""


class PolicyMismatch(EvalError):
    """The proxy did not apply the policy the arm asked for."""


@dataclass(frozen=True, slots=True)
class Arm:
    """One condition compared: `policy` is sent as X-Evenhand-Policy (None: plain endpoint, no header)."""

    name: str
    policy: str | None
    defended: bool


@dataclass(frozen=True, slots=True)
class Job:
    item: Item
    persona: Persona | None
    arm: Arm


@dataclass(slots=True)
class Answer:
    job: Job
    text: str | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class ClientConfig:
    target: str
    model: str
    admin_key: str | None = None
    temperature: float = 0.0
    seed: int = 0
    max_tokens: dict[str, int] = field(default_factory=lambda: {"unsafe": 256, "benign": 256, "graded": 512})
    system_template: str = SYSTEM_TEMPLATE
    timeout: float = 300.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    skip_errors: bool = False

    def params(self, item: Item) -> dict[str, Any]:
        return {"temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens[item.task]}

    def messages(self, job: Job) -> list[dict[str, str]]:
        identity = job.persona.identity if job.persona else None
        return build_messages(job.item.prompt, identity, self.system_template)

    def key(self, job: Job) -> str:
        return request_key(self.model, job.arm.name, self.messages(job), self.params(job.item))


def _headers(config: ClientConfig, arm: Arm) -> dict[str, str]:
    headers = {}
    if config.admin_key:
        headers["Authorization"] = f"Bearer {config.admin_key}"
    if arm.policy is not None:
        headers[POLICY_HEADER] = arm.policy
    return headers


def _content(data: Any) -> tuple[str, str | None]:
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("response has no choices[0].message") from exc
    text = message.get("content") or message.get("refusal") or ""
    return str(text), choice.get("finish_reason")


async def _ask(client: httpx.AsyncClient, config: ClientConfig, job: Job) -> dict[str, Any]:
    """One chat completion, retried on transient failures; returns the record to cache."""
    body = {"model": config.model, "messages": config.messages(job), **config.params(job.item)}
    url = config.target.rstrip("/") + "/chat/completions"
    delay = config.backoff
    for attempt in range(config.retries + 1):
        last = attempt == config.retries
        try:
            r = await client.post(url, json=body, headers=_headers(config, job.arm))
        except httpx.TransportError as exc:
            if last:
                raise EvalError(f"{url}: {type(exc).__name__}: {exc}") from exc
        else:
            if r.status_code == 200:
                break
            if r.status_code not in _RETRY_STATUS or last:
                raise _HTTPFailure(r.status_code, r.text[:500])
        await asyncio.sleep(delay)
        delay *= 2
    applied = r.headers.get(POLICY_ECHO)
    if job.arm.policy is not None and applied != job.arm.policy:
        if applied is None:
            raise PolicyMismatch(
                f"asked for policy {job.arm.policy!r} but the response has no {POLICY_ECHO} header: "
                "is --target the evenhand proxy? (use --no-proxy-arms for a plain endpoint)"
            )
        raise PolicyMismatch(
            f"asked for policy {job.arm.policy!r} but the proxy applied {applied!r}: "
            "check the admin key and that the policy is loaded"
        )
    try:
        text, finish = _content(r.json())
    except ValueError as exc:
        raise _HTTPFailure(200, f"unreadable response: {exc}") from exc
    return {"text": text, "finish_reason": finish, "policy": applied}


class _HTTPFailure(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


async def run_jobs(
    jobs: Sequence[Job],
    config: ClientConfig,
    cache: ResponseCache,
    *,
    concurrency: int = 4,
    progress: bool = True,
) -> list[Answer]:
    """Answers in job order. Cached requests are not sent again."""
    answers: list[Answer | None] = [None] * len(jobs)
    todo: asyncio.Queue[int] = asyncio.Queue()
    for n, job in enumerate(jobs):
        record = cache.get(config.key(job))
        if record is not None:
            answers[n] = Answer(job, record["text"], cached=True)
        else:
            todo.put_nowait(n)
    cached = len(jobs) - todo.qsize()
    bar = _Progress(len(jobs), cached, enabled=progress)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                n = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            job = jobs[n]
            try:
                record = await _ask(client, config, job)
            except _HTTPFailure as exc:
                if not config.skip_errors:
                    raise EvalError(f"{job.item.key} ({job.arm.name}): {exc}") from None
                answers[n] = Answer(job, None, error=str(exc))
            else:
                cache.put(config.key(job), record)
                answers[n] = Answer(job, record["text"])
            bar.advance()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(config.timeout, connect=10.0)
    with bar:
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            workers = [asyncio.create_task(worker(client)) for _ in range(max(1, concurrency))]
            try:
                await asyncio.gather(*workers)
            finally:
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
    return [a for a in answers if a is not None]


class _Progress:
    """A rich progress bar with rate and ETA, or nothing when disabled."""

    def __init__(self, total: int, cached: int, *, enabled: bool) -> None:
        self._p = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._p.add_task(f"requests ({cached} cached)", total=total, completed=cached, rate="")

    def advance(self) -> None:
        if self._p is not None:
            speed = self._p.tasks[0].speed
            self._p.update(self._task, advance=1, rate=f"{speed:.2f} req/s" if speed else "")

    def __enter__(self) -> _Progress:
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()
