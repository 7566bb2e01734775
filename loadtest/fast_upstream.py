"""The benchmark's upstream: an OpenAI-compatible fake model that spends as little CPU as a Python
HTTP server can, so that on a small machine the cores go to the proxy under test.

A bare asyncio Protocol on uvloop with httptools' parser: HTTP/1.1 keep-alive (and pipelining,
answered in order), request bodies by Content-Length or chunked, `POST /v1/chat/completions` and
`GET /v1/models`, 404 for anything else, 400 and a closed connection for what does not parse
(an upgrade, HTTP/2, garbage), 413 beyond 64 MiB. Every answer's bytes are built once per model
name and kind, so a request costs one parse of its JSON and the writes.

Answers have the shape of `loadtest/fake_upstream.py`'s (the scriptable server the tests use):
the text padded to `--size` bytes, in one JSON completion, or with `"stream": true` an SSE stream
(chunked) of a role chunk, `--chunks` content chunks each in a write of its own (a model sends
token by token, and a proxy pays per read), a finish chunk, a usage chunk when
`stream_options.include_usage` asks for one, and `data: [DONE]`. Delays are fake_upstream's too:
`--delay` seconds, or S for the model `fake-slow-S`, spread by `--jitter` as a function of the
last message only; a delayed answer says how long it waited in `x-fake-delay` (seconds).
Prints `listening on PORT` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus

import httptools
import orjson
import uvloop

from loadtest.upstream_options import add_arguments, spread

CHAT = b"/v1/chat/completions"
MODELS = b"/v1/models"
MAX_BODY = 64 * 1024 * 1024
CACHED_MODELS = 256  # answers kept per model name, for this many names; others are built per request
CHUNKED_STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer's bytes: `writes` as sent, the head (headers without their blank line) in the first."""

    head: bytes
    parts: tuple[bytes, ...]  # the body, one element per write
    writes: tuple[bytes, ...]

    @classmethod
    def of(cls, head: bytes, parts: list[bytes]) -> Answer:
        return cls(head, tuple(parts), (head + b"\r\n" + parts[0], *parts[1:]))

    def with_headers(self, extra: bytes) -> tuple[bytes, ...]:
        return (self.head + extra + b"\r\n" + self.parts[0], *self.parts[1:])


def json_answer(body: bytes, status: int = 200) -> Answer:
    phrase = HTTPStatus(status).phrase.encode()
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (status, phrase, len(body))
    return Answer.of(head, [body])


def error_answer(status: int, message: str) -> Answer:
    body = {"error": {"message": message, "type": "fake_error", "param": None, "code": f"fake_{status}"}}
    return json_answer(orjson.dumps(body), status)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Upstream:
    """What every connection shares: the settings and the answers built so far."""

    def __init__(self, text: str = "Hello from the fake upstream.", size: int = 0, chunks: int = 16, delay: float = 0.0, jitter: float = 0.0) -> None:
        self.text = text.ljust(size, ".") if size > len(text) else text
        self.chunks = max(1, chunks)
        self.delay = delay
        self.jitter = min(max(jitter, 0.0), 1.0)
        self.created = int(time.time())
        self._answers: dict[tuple[str, bool, bool], Answer] = {}
        models = {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]}
        self.models = json_answer(orjson.dumps(models))
        self.not_found = error_answer(404, "not found")
        self.invalid_json = error_answer(400, "invalid json")
        self.invalid_model = error_answer(400, "invalid fake-slow model name")
        self.malformed = error_answer(400, "malformed HTTP request")
        self.no_upgrade = error_answer(400, "protocol upgrades are not supported")
        self.too_large = error_answer(413, "request body too large")

    def answer(self, model: str, stream: bool, usage: bool) -> Answer:
        key = (model, stream, usage)
        found = self._answers.get(key)
        if found is None:
            found = self._stream(model, usage) if stream else self._completion(model)
            if len(self._answers) < CACHED_MODELS * 3:
                self._answers[key] = found
        return found

    def _completion(self, model: str) -> Answer:
        completion = {
            "id": "chatcmpl-fast",
            "object": "chat.completion",
            "created": self.created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text, "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        return json_answer(orjson.dumps(completion))

    def _stream(self, model: str, usage: bool) -> Answer:
        def event(delta: dict, finish: str | None = None) -> bytes:
            chunk = {"id": "chatcmpl-fast", "object": "chat.completion.chunk", "created": self.created, "model": model, "system_fingerprint": "fp_fake",
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if usage:
                chunk["usage"] = None
            return _chunk(b"data: " + orjson.dumps(chunk) + b"\n\n")

        text = self.text
        step = max(1, -(-len(text) // self.chunks))
        pieces = [text[i : i + step] for i in range(0, len(text), step)] or [""]
        parts = [event({"role": "assistant", "content": ""})]
        parts += [event({"content": piece}) for piece in pieces]
        parts.append(event({}, "stop"))
        if usage:
            counts = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
            last = {"id": "chatcmpl-fast", "object": "chat.completion.chunk", "created": self.created, "model": model, "choices": [], "usage": counts}
            parts.append(_chunk(b"data: " + orjson.dumps(last) + b"\n\n"))
        parts.append(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        return Answer.of(CHUNKED_STREAM_HEAD, parts)


class _TooLarge(Exception):
    pass


class Connection(asyncio.Protocol):
    """One client connection: requests answered in the order they came, a delayed one holding back
    those behind it."""

    def __init__(self, upstream: Upstream, loop: asyncio.AbstractEventLoop) -> None:
        self.upstream = upstream
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.size = 0
        self.waiting = False  # an answer is due later: requests behind it queue
        self.queued: deque = deque()
        self.stopped = False  # the connection is to close: read nothing more

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.stopped = True
        self.queued.clear()

    def data_received(self, data: bytes) -> None:
        if self.stopped:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if not self.stopped:  # answered already, when the upgrading request came whole
                self.fail(self.upstream.no_upgrade)
        except httptools.HttpParserError as exc:
            self.fail(self.upstream.too_large if isinstance(exc.__context__, _TooLarge) else self.upstream.malformed)

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY:
            raise _TooLarge
        self.body.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        if parser.should_upgrade():
            return self.fail(self.upstream.no_upgrade)
        method, url, keep = parser.get_method(), self.url, parser.should_keep_alive()
        raw = b"".join(self.body)
        self.url = b""
        self.body.clear()
        self.size = 0
        if self.waiting:
            self.queued.append(partial(self.handle, method, url, raw, keep))
        else:
            self.handle(method, url, raw, keep)

    def fail(self, answer: Answer) -> None:
        """Answer a request that cannot be read, after those before it, and close."""
        self.stopped = True
        if self.waiting:
            self.queued.append(partial(self.send, answer, False))
        else:
            self.send(answer, False)

    def handle(self, method: bytes, url: bytes, raw: bytes, keep: bool) -> None:
        path = url.partition(b"?")[0]
        if path == CHAT and method == b"POST":
            self.chat(raw, keep)
        elif path == MODELS and method == b"GET":
            self.send(self.upstream.models, keep)
        else:
            self.send(self.upstream.not_found, keep)

    def chat(self, raw: bytes, keep: bool) -> None:
        upstream = self.upstream
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self.send(upstream.invalid_json, keep)
        if not isinstance(body, dict):
            return self.send(upstream.invalid_json, keep)
        model = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        options = body.get("stream_options") if stream else None
        usage = isinstance(options, dict) and bool(options.get("include_usage"))
        delay = upstream.delay
        if model.startswith("fake-slow-"):
            try:
                delay = float(model.rsplit("-", 1)[1])
            except ValueError:
                return self.send(upstream.invalid_model, keep)
            if not math.isfinite(delay):
                return self.send(upstream.invalid_model, keep)
        answer = upstream.answer(model, stream, usage)
        if delay > 0:
            delay = spread(delay, upstream.jitter, body)
            self.waiting = True
            self.loop.call_later(delay, self.send_later, answer, keep, delay)
        else:
            self.send(answer, keep)

    def send(self, answer: Answer, keep: bool, extra: bytes = b"") -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if keep and not extra:
            writes = answer.writes
        else:
            writes = answer.with_headers(extra if keep else extra + b"Connection: close\r\n")
        for data in writes:
            transport.write(data)
        if not keep:
            self.stopped = True
            transport.close()

    def send_later(self, answer: Answer, keep: bool, delay: float) -> None:
        self.waiting = False
        self.send(answer, keep, b"x-fake-delay: %.6f\r\n" % delay)
        while self.queued and not self.waiting:
            self.queued.popleft()()


async def serve(upstream: Upstream, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(upstream, loop), host, port, backlog=1024)
    print(f"listening on {port}", flush=True)
    gc.freeze()  # what start-up built lives to the end: keep the collector off it
    await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    upstream = Upstream(args.text, args.size, args.chunks, args.delay, args.jitter)
    uvloop.run(serve(upstream, args.host, args.port))


if __name__ == "__main__":
    main()
