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
from contextlib import AsyncExitStack

import orjson
from starlette.types import Receive, Scope, Send

from proxy.errors import ProxyError
from proxy.observe import Observation, StreamWatcher
from proxy.pipeline import CLIENT_GONE, Exchange, Pipeline
from proxy.resend import retry_body, start_probe, stream_retry_plan
from proxy.upstream import StreamReply
from defenses.refusal_retry import retry_action

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def error_event(message: str, code: str) -> bytes:
    return b"data: " + orjson.dumps({"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}) + b"\n\n"


class RelayResponse:
    """The streamed answer as a bare ASGI response: each chunk goes to the client as it comes, and a
    client that leaves cancels the relay, and so the upstream request, at once. (Starlette's
    StreamingResponse costs an anyio task group and two tasks per stream for the same thing.)"""

    status_code = 200

    def __init__(self, content: AsyncIterator[bytes], close: Callable[[], Awaitable[None]], headers: dict[str, str]) -> None:
        self.content = content
        self._close = close
        merged = {"content-type": "text/event-stream; charset=utf-8", **{k.lower(): v for k, v in {**SSE_HEADERS, **headers}.items()}}
        self.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.content:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()
        finally:
            watcher.cancel()
            await self.content.aclose()  # runs the relay's own ending even if it never started
            await self._close()


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


class _Answer:
    """One upstream stream being relayed: its chunks, what was seen of them, how to end it well."""

    __slots__ = ("chunks", "watcher", "observer", "exchange", "want_usage")

    def __init__(self, pipeline: Pipeline, exchange: Exchange, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.exchange = exchange
        self.observer = pipeline.observer(exchange)
        self.watcher = StreamWatcher(on_text=self.observer)
        self.want_usage = bool((getattr(exchange.request, "stream_options", None) or {}).get("include_usage"))

    def out(self, chunk: bytes) -> list[bytes]:
        """What to send the client for one upstream chunk (a usage chunk goes before [DONE] if missing)."""
        watcher = self.watcher
        had_content = watcher.content_chunks
        watcher.feed(chunk)
        if not had_content and watcher.content_chunks and self.exchange.first_token_at is None:
            self.exchange.first_token_at = time.perf_counter()
        if self.want_usage and watcher.done and not watcher.usage_seen:
            head = chunk.partition(b"data: [DONE]")[0]
            return [head, _usage_chunk(self.exchange, watcher), DONE] if head else [_usage_chunk(self.exchange, watcher), DONE]
        return [chunk]

    def ending(self) -> tuple[list[bytes], int]:
        """What to send after the upstream's last chunk, and the status to record."""
        watcher = self.watcher
        if watcher.done:
            return [], 200
        if watcher.finished:
            return ([_usage_chunk(self.exchange, watcher)] if self.want_usage and not watcher.usage_seen else []) + [DONE], 200
        return [error_event("The upstream ended the stream before the answer was complete.", "upstream_incomplete_stream"), DONE], 502

    def observation(self) -> Observation:
        return self.observer.finish() if self.observer is not None and self.watcher.content_chunks else Observation()


async def relay(pipeline: Pipeline, exchange: Exchange, reply: StreamReply, upstream_started: float, stack: AsyncExitStack) -> AsyncIterator[bytes]:
    answer = _Answer(pipeline, exchange, reply.chunks)
    plan = stream_retry_plan(exchange)
    # refusal_retry on a stream: hold back the start of the answer until the refusal verdict is in
    held: list[bytes] | None = [] if plan is not None and plan.execute and answer.observer is not None else None
    retrying = False
    status = 200
    try:
        async for chunk in answer.chunks:
            out = answer.out(chunk)
            if held is not None:
                held.extend(out)
                observer = answer.observer
                refused = observer.refused  # type: ignore[union-attr]
                if refused is None:
                    if not (answer.watcher.done or answer.watcher.finished):
                        continue
                    refused = observer.settle()  # type: ignore[union-attr]
                if refused:
                    retried = await _open_retry(pipeline, exchange, stack)
                    if retried is not None:
                        retrying = True
                        answer = _Answer(pipeline, exchange, retried.chunks)
                        held = None
                        async for retry_chunk in answer.chunks:
                            for piece in answer.out(retry_chunk):
                                yield piece
                        break
                out, held = held, None
            for piece in out:
                yield piece
            if answer.watcher.done:
                break
        if held:
            for piece in held:
                yield piece
        tail, status = answer.ending()
        for piece in tail:
            yield piece
    except (asyncio.CancelledError, GeneratorExit):
        status = CLIENT_GONE  # the upstream request is closed by RelayResponse
        raise
    except ProxyError as err:
        status = err.status
        yield error_event(err.message, err.code or "upstream_error")
        yield DONE
    finally:
        exchange.upstream_seconds = time.perf_counter() - upstream_started
        observation = answer.observation()
        if retrying:
            exchange.actions.append(retry_action(plan, retry_refused=bool(observation.refused)))  # type: ignore[arg-type]
        response_id = (answer.watcher.last or {}).get("id")
        pipeline.record(exchange, observation, status, response_id=response_id)
        if status == 200:
            start_probe(pipeline, exchange, observation, response_id or "")


async def _open_retry(pipeline: Pipeline, exchange: Exchange, stack: AsyncExitStack) -> StreamReply | None:
    """The retry's stream in place of the refused one; None (keep the original) if the retry fails."""
    retry_stack = AsyncExitStack()
    try:
        reply = await retry_stack.enter_async_context(exchange.route.upstream.stream(retry_body(pipeline, exchange)))
    except ProxyError:
        await retry_stack.aclose()
        return None
    if reply.status >= 300:
        await retry_stack.aclose()
        return None
    await stack.aclose()  # the refused stream
    stack.push_async_callback(retry_stack.aclose)
    return reply
