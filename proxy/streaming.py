"""Relaying a streamed answer chunk by chunk, as it arrives, while watching it.

Nothing is buffered: each upstream chunk is written to the client before the next is read. The
relay also guarantees a well-formed end for the client: `data: [DONE]` when the upstream forgot
it, an error event when the upstream broke off mid-answer, and the usage chunk a client asked for
with `stream_options.include_usage` when the upstream did not send one.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from proxy.errors import ProxyError
from proxy.observe import Observation, StreamWatcher
from proxy.pipeline import Exchange, Pipeline
from proxy.upstream import StreamReply

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def error_event(message: str, code: str) -> bytes:
    return b"data: " + orjson.dumps({"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}) + b"\n\n"


class RelayResponse(StreamingResponse):
    """A StreamingResponse that always closes the upstream request, even if the client left before
    the first byte (when the body iterator never starts and so never runs its own cleanup)."""

    def __init__(self, content: AsyncIterator[bytes], close: Callable[[], Awaitable[None]], headers: dict[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={**SSE_HEADERS, **headers})
        self._close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._close()


class TextSample:
    """Collects the first characters of the answer for the refusal detector, never more."""

    __slots__ = ("parts", "size", "limit")

    def __init__(self, limit: int = 600) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def __call__(self, text: str) -> None:
        if self.size < self.limit:
            self.parts.append(text)
            self.size += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _usage_chunk(exchange: Exchange, watcher: StreamWatcher) -> bytes:
    """The final usage chunk for upstreams that do not send one (llama.cpp's server, for one).

    Completion tokens are counted as content chunks (such servers send one token per chunk) and
    prompt tokens estimated at four characters a token; `evenhand_estimated` says so.
    """
    last = watcher.last or {}
    chars = sum(len(t) for m in exchange.request.messages for _, t in m.texts())
    prompt = math.ceil(chars / 4)
    usage = {"prompt_tokens": prompt, "completion_tokens": watcher.content_chunks, "total_tokens": prompt + watcher.content_chunks, "evenhand_estimated": True}
    chunk = {"id": last.get("id", "chatcmpl-evenhand"), "object": "chat.completion.chunk", "created": last.get("created", int(time.time())), "model": last.get("model", exchange.request.model), "choices": [], "usage": usage}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


async def relay(pipeline: Pipeline, exchange: Exchange, reply: StreamReply, upstream_started: float) -> AsyncIterator[bytes]:
    sample = TextSample()
    watcher = StreamWatcher(on_text=sample)
    want_usage = bool((getattr(exchange.request, "stream_options", None) or {}).get("include_usage"))
    status = 200
    try:
        async for chunk in reply.chunks:
            had_content = watcher.content_chunks
            watcher.feed(chunk)
            if not had_content and watcher.content_chunks:
                exchange.first_token_at = time.perf_counter()
            if want_usage and watcher.done and not watcher.usage_seen:
                head, _, _ = chunk.partition(b"data: [DONE]")
                if head:
                    yield head
                yield _usage_chunk(exchange, watcher)
                yield DONE
                break
            yield chunk
        else:
            if not watcher.done:
                if watcher.finished:
                    if want_usage and not watcher.usage_seen:
                        yield _usage_chunk(exchange, watcher)
                    yield DONE
                else:
                    status = 502
                    yield error_event("The upstream ended the stream before the answer was complete.", "upstream_incomplete_stream")
                    yield DONE
    except (asyncio.CancelledError, GeneratorExit):
        status = 499  # the client went away; the upstream request is closed by RelayResponse
        raise
    except ProxyError as err:
        status = err.status
        yield error_event(err.message, err.code or "upstream_error")
        yield DONE
    finally:
        exchange.upstream_seconds = time.perf_counter() - upstream_started
        observation = pipeline.observe_text(exchange, sample.text()) if watcher.content_chunks else Observation()
        pipeline.record(exchange, observation, status)
