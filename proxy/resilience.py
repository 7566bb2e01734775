"""Retries with backoff and fallback upstreams, behind the same interface as one upstream.

A request is tried on its upstream, retried there (exponential backoff with jitter, or the
upstream's `Retry-After` when it sends one, up to a cap) while it fails in a way worth retrying,
then tried on each fallback upstream in turn. Worth retrying: the upstream could not be reached or
dropped the connection (502), a connect timeout, one of the configured statuses (429 and 5xx), or
a full concurrency limit of this proxy's (which moves on to the next upstream at once). Read
timeouts and other client errors are final: retrying them would only double the wait or the error.

Streams are retried only while nothing has been relayed: `stream()` decides before it yields, and
waits for the upstream's first chunk so that an upstream that accepts and then dies before its
first byte is retried too. Once the context manager has yielded, the stream is the client's.

Routes without retries or fallbacks get the upstream itself (`route_upstream`), at no cost.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from proxy.config import Fallback, RetryConfig, UpstreamConfig
from proxy.errors import ProxyError
from proxy.limits import is_overload
from proxy.upstream import Reply, StreamReply, Upstream

# ProxyError codes (from proxy/upstream.py) meaning the request never got an answer, so another try is safe.
RETRYABLE_CODES = frozenset({"upstream_unavailable", "upstream_connect_timeout"})

Outcome = Reply | StreamReply | ProxyError


@dataclass(frozen=True, slots=True)
class Candidate:
    """One upstream a request may go to: the body's model is rewritten to `model` unless it is None."""

    upstream: Upstream
    retry: RetryConfig
    model: str | None = None


def backoff_seconds(retry: RetryConfig, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number `attempt + 1`: exponential, capped, cut by up to `jitter` at random
    so that clients that failed together do not come back together."""
    base = min(retry.backoff_max, retry.backoff_initial * retry.backoff_multiplier**attempt)
    return base * (1.0 - retry.jitter * rand())


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """What the upstream asked for in `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def with_model(body: bytes, model: str) -> bytes:
    """The body with another model name, for a fallback that knows the model by another name."""
    data = orjson.loads(body)
    data["model"] = model
    return orjson.dumps(data)


class ResilientUpstream:
    """Tries `candidates` in order, retrying each as its own `retries` config says."""

    def __init__(self, candidates: Sequence[Candidate], *, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, rand: Callable[[], float] = random.random) -> None:
        if not candidates:
            raise ValueError("a resilient upstream needs at least one candidate")
        self.candidates = tuple(candidates)
        self.name = self.candidates[0].upstream.name
        self._sleep = sleep
        self._rand = rand

    def _upstreams(self) -> list[Upstream]:
        return list({id(c.upstream): c.upstream for c in self.candidates}.values())

    async def start(self) -> None:
        for upstream in self._upstreams():
            await upstream.start()

    async def aclose(self) -> None:
        for upstream in self._upstreams():
            await upstream.aclose()

    async def list_models(self) -> list[dict[str, Any]]:
        return await self.candidates[0].upstream.list_models()

    async def ping(self) -> bool:
        return await self.candidates[0].upstream.ping()

    @staticmethod
    def _failed(candidate: Candidate, outcome: Outcome) -> bool:
        """A failure worth another attempt, here or on the next candidate."""
        if isinstance(outcome, ProxyError):
            return is_overload(outcome) or outcome.code in RETRYABLE_CODES
        return outcome.status in candidate.retry.on_status

    def _delay(self, candidate: Candidate, attempt: int, outcome: Outcome) -> float | None:
        """Seconds to wait before trying `candidate` again, or None to move on to the next one."""
        retry = candidate.retry
        if attempt >= retry.max_retries:
            return None
        if isinstance(outcome, ProxyError):
            return None if is_overload(outcome) else backoff_seconds(retry, attempt, self._rand)
        after = retry_after_seconds(outcome.headers)
        if after is None:
            return backoff_seconds(retry, attempt, self._rand)
        return after if after <= retry.retry_after_max else None

    @staticmethod
    def _payload(candidate: Candidate, body: bytes) -> bytes:
        return body if candidate.model is None else with_model(body, candidate.model)

    async def complete(self, body: bytes, **options: Any) -> Reply:
        outcome: Outcome | None = None
        for candidate in self.candidates:
            payload = self._payload(candidate, body)
            attempt = 0
            while True:
                try:
                    outcome = await candidate.upstream.complete(payload, **options)
                except ProxyError as err:
                    outcome = err
                if not self._failed(candidate, outcome):
                    if isinstance(outcome, ProxyError):
                        raise outcome
                    return outcome
                delay = self._delay(candidate, attempt, outcome)
                if delay is None:
                    break
                await self._sleep(delay)
                attempt += 1
        if isinstance(outcome, ProxyError):
            raise outcome
        assert outcome is not None
        return outcome  # type: ignore[return-value]

    @asynccontextmanager
    async def stream(self, body: bytes, **options: Any) -> AsyncIterator[StreamReply]:
        async with AsyncExitStack() as outer:
            yield await self._open_stream(outer, body, options)

    async def _open_stream(self, outer: AsyncExitStack, body: bytes, options: dict[str, Any]) -> StreamReply:
        """The first stream worth relaying; its upstream request is closed with `outer`."""
        last = len(self.candidates) - 1
        for index, candidate in enumerate(self.candidates):
            payload = self._payload(candidate, body)
            attempt = 0
            while True:
                attempt_stack = AsyncExitStack()
                outcome: Outcome
                try:
                    reply = await attempt_stack.enter_async_context(candidate.upstream.stream(payload, **options))
                    outcome = await _first_chunk(reply) if reply.status < 300 else reply
                except ProxyError as err:
                    await attempt_stack.aclose()
                    outcome = err
                except BaseException:
                    await attempt_stack.aclose()
                    raise
                failed = self._failed(candidate, outcome)
                delay = self._delay(candidate, attempt, outcome) if failed else None
                if not failed or (delay is None and index == last):
                    if isinstance(outcome, ProxyError):
                        raise outcome
                    await outer.enter_async_context(attempt_stack)
                    return outcome  # type: ignore[return-value]
                if not isinstance(outcome, ProxyError):
                    await attempt_stack.aclose()
                if delay is None:
                    break
                await self._sleep(delay)
                attempt += 1
        raise AssertionError("unreachable: the last candidate always returns or raises")


async def _first_chunk(reply: StreamReply) -> StreamReply:
    """The reply with its first chunk already read, so a stream that dies before its first byte
    raises here, while a retry is still possible."""
    chunks = reply.chunks.__aiter__()
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        return reply
    return StreamReply(reply.status, _prepend(first, chunks), reply.body, reply.headers)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def route_upstream(
    upstreams: Mapping[str, Upstream],
    configs: Mapping[str, UpstreamConfig],
    upstream: str,
    upstream_model: str | None = None,
    fallbacks: Sequence[Fallback] = (),
) -> Upstream:
    """The upstream one route forwards to: the named upstream itself when it has no retries and the
    route no fallbacks, else a ResilientUpstream over it and its fallbacks.

    `upstream_model` is the name the route sends (None in quick-start mode, where the client's name
    goes unchanged); a fallback with another `upstream_model` gets the body's model rewritten.
    """
    primary = Candidate(upstreams[upstream], configs[upstream].retries)
    if not fallbacks and primary.retry.max_retries == 0:
        return primary.upstream
    candidates = [primary]
    for fallback in fallbacks:
        model = fallback.upstream_model if fallback.upstream_model not in (None, upstream_model) else None
        candidates.append(Candidate(upstreams[fallback.upstream], configs[fallback.upstream].retries, model))
    return ResilientUpstream(candidates)
