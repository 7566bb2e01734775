"""Concurrency limits: past its limit the proxy answers 429 at once instead of queueing without bound.

A queue in front of a saturated upstream only turns overload into timeouts; an immediate 429 with
`Retry-After` lets OpenAI's SDKs (and any client) back off and retry. Counters are plain integers:
one event loop per worker process, and nothing awaits between the check and the increment. Limits
are per worker process.

The proxy-wide limit is `LimitMiddleware`, an ASGI middleware around the chat route: the slot is
held until the app has finished the response, which for a stream is when its last byte is sent or
the client has gone and the upstream request is closed. Used by hand, a `Slot` is a context manager;
a stream that outlives the `with` block takes the release along with `slot.hand_over()` (an
exception still releases; releasing twice is harmless).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, MutableMapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from proxy.errors import ProxyError
from proxy.upstream import Reply, StreamReply, Upstream

RETRY_AFTER = {"Retry-After": "1"}


class Slot:
    """One admitted request; release it exactly once, however the request ends."""

    __slots__ = ("_limit", "_held", "_handed_over")

    def __init__(self, limit: "ConcurrencyLimit | None") -> None:
        self._limit = limit
        self._held = limit is not None
        self._handed_over = False

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limit._in_use -= 1  # type: ignore[union-attr]

    def hand_over(self) -> Callable[[], None]:
        """Keep the slot past the `with` block (a stream that goes on); the caller must call the
        returned function when the stream ends."""
        self._handed_over = True
        return self.release

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None or not self._handed_over:
            self.release()


UNLIMITED_SLOT = Slot(None)


class ConcurrencyLimit:
    """At most `limit` slots at once; `None` means no limit (and costs nothing)."""

    __slots__ = ("limit", "_in_use", "_message")

    def __init__(self, limit: int | None, message: str) -> None:
        self.limit = limit
        self._in_use = 0
        self._message = message

    @property
    def in_use(self) -> int:
        return self._in_use

    def try_acquire(self) -> Slot | None:
        if self.limit is None:
            return UNLIMITED_SLOT
        if self._in_use >= self.limit:
            return None
        self._in_use += 1
        return Slot(self)

    def acquire(self) -> Slot:
        """A slot, or a 429 with `Retry-After` when all are taken."""
        slot = self.try_acquire()
        if slot is None:
            raise ProxyError(429, self._message, code="too_many_requests", headers=dict(RETRY_AFTER))
        return slot


def global_limit(limit: int | None) -> ConcurrencyLimit:
    """The whole proxy's limit (`server.max_concurrency`)."""
    return ConcurrencyLimit(limit, f"This proxy is handling its maximum of {limit} concurrent requests; retry shortly.")


ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class LimitMiddleware:
    """At most `limit` requests at once on `paths` (the chat route); more get the 429 at once.

    `on_reject(error)` is told of each 429 (for the error metric). Other routes, `/healthz` and
    `/metrics` among them, are never limited.
    """

    def __init__(self, app: ASGIApp, limit: ConcurrencyLimit, paths: Collection[str] = ("/v1/chat/completions",), on_reject: Callable[[ProxyError], None] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.paths = frozenset(paths)
        self.on_reject = on_reject

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        try:
            slot = self.limit.acquire()
        except ProxyError as err:
            if self.on_reject is not None:
                self.on_reject(err)
            await err.response()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slot.release()


def is_overload(error: ProxyError) -> bool:
    """A 429 this proxy gave itself because a limit was full (not an upstream's own 429)."""
    return error.status == 429 and error.code == "too_many_requests"


class LimitedUpstream:
    """An upstream with at most `limit` requests in flight (`upstreams.NAME.max_concurrency`).

    The slot is taken before the request leaves and, for streams, held until the stream's context
    manager exits, which the relay does when the stream ends or the client leaves.
    """

    def __init__(self, upstream: Upstream, limit: int) -> None:
        self.upstream = upstream
        self.name = upstream.name
        self.limit = ConcurrencyLimit(limit, f"The upstream '{upstream.name}' is handling its maximum of {limit} concurrent requests; retry shortly.")

    async def start(self) -> None:
        await self.upstream.start()

    async def complete(self, body: bytes, **options: Any) -> Reply:
        with self.limit.acquire():
            return await self.upstream.complete(body, **options)

    @asynccontextmanager
    async def stream(self, body: bytes, **options: Any) -> AsyncIterator[StreamReply]:
        with self.limit.acquire():
            async with self.upstream.stream(body, **options) as reply:
                yield reply

    async def list_models(self) -> list[dict[str, Any]]:
        return await self.upstream.list_models()

    async def ping(self) -> bool:
        return await self.upstream.ping()

    async def aclose(self) -> None:
        await self.upstream.aclose()


def limited(upstream: Upstream, limit: int | None) -> Upstream:
    """The upstream itself when it has no limit, so an unlimited upstream costs nothing."""
    return upstream if limit is None else LimitedUpstream(upstream, limit)
