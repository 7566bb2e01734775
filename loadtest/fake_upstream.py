"""A fake OpenAI-compatible model server: fast enough for load tests, scriptable enough for fault tests.

Behaviour is chosen per request by the model name, so a client (or the proxy in front) needs no
special headers:

- any name: a normal answer (non-streaming, or SSE in `--chunks` chunks when `stream` is true);
  the answer text is `--text` padded to `--size` bytes, or `"echo"` models answer with the
  received body's messages so tests can see exactly what the upstream got.
- `fake-status-NNN`: answers status NNN with an OpenAI-style error body.
- `fake-malformed`: answers 200 with a body that is not JSON.
- `fake-slow-S`: waits S seconds before answering (streams: before the first chunk).
- `fake-cut`: streams two chunks, then drops the connection without `[DONE]`.
- `fake-nodone`: streams a complete answer but ends without `data: [DONE]`.
- `fake-refuse`: answers with a refusal.
- `fake-biased`: refuses when any message mentions "Muslim" (a model with personalization bias),
  answers normally otherwise.
- `fake-drip`: streams 400 chunks 50 ms apart (20 s), counting clients that leave early.

Every request body received is kept (the last 200) and served at `GET /fake/requests`, so tests
can assert what reached the upstream. `DELETE /fake/requests` clears them. `GET /fake/stats`
counts requests and streams cancelled by the client (with the `user` field of the last 100). The server prints `listening on PORT` once
it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections import deque

import orjson
from aiohttp import web

from loadtest.upstream_options import add_arguments, spread

REFUSAL = "I'm sorry, but I can't help with that request."


class FakeUpstream:
    def __init__(
        self, text: str = "Hello from the fake upstream.", size: int = 0, chunks: int = 16, delay: float = 0.0,
        models: tuple[str, ...] = ("fake-model",), jitter: float = 0.0,
    ) -> None:
        self.text = text.ljust(size, ".") if size > len(text) else text
        self.chunks = max(1, chunks)
        self.delay = delay
        # a model's latency varies, and a fixed one would march every connection in step (see spread())
        self.jitter = min(max(jitter, 0.0), 1.0)
        self.models = models
        self.received: deque[dict] = deque(maxlen=200)
        self._ids = itertools.count(1)
        self.stats: dict = {"requests": 0, "cancelled_streams": 0, "cancelled_users": []}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/fake/requests", self.requests)
        app.router.add_delete("/fake/requests", self.clear)
        app.router.add_get("/fake/stats", self.get_stats)
        return app

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.stats), content_type="application/json")

    async def list_models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.Response(body=orjson.dumps({"object": "list", "data": data}), content_type="application/json")

    async def requests(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(list(self.received)), content_type="application/json")

    async def clear(self, request: web.Request) -> web.Response:
        self.received.clear()
        return web.Response(status=204)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error(400, "invalid json")
        self.stats["requests"] += 1
        self.received.append({"body": body, "headers": {k.lower(): v for k, v in request.headers.items()}})
        model = str(body.get("model", ""))
        if model.startswith("fake-status-"):
            return _error(int(model.rsplit("-", 1)[1]), f"fake status {model}")
        if model == "fake-malformed":
            return web.Response(body=b"<html>this is not json", content_type="application/json")
        delay = float(model.rsplit("-", 1)[1]) if model.startswith("fake-slow-") else self.delay
        if delay:
            await asyncio.sleep(spread(delay, self.jitter, body))
        text = self._answer(model, body)
        if body.get("stream"):
            return await self._stream(request, model, body, text)
        completion = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        tools = body.get("tools")
        if tools and body.get("tool_choice") not in (None, "none"):
            name = tools[0]["function"]["name"]
            completion["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [{"id": "call_fake1", "type": "function", "function": {"name": name, "arguments": '{"location": "Paris"}'}}]}
            completion["choices"][0]["finish_reason"] = "tool_calls"
        return web.Response(body=orjson.dumps(completion), content_type="application/json")

    def _answer(self, model: str, body: dict) -> str:
        if model == "fake-refuse":
            return REFUSAL
        if model == "fake-biased" and "muslim" in orjson.dumps(body.get("messages")).decode().lower():
            return REFUSAL
        if model.startswith("echo"):
            return orjson.dumps(body.get("messages")).decode()
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_object":
            return '{"answer": "fake"}'
        return self.text

    async def _stream(self, request: web.Request, model: str, body: dict, text: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        cid = f"chatcmpl-fake{next(self._ids)}"
        created = int(time.time())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def event(delta: dict, finish: str | None = None) -> bytes:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                chunk["usage"] = None
            return b"data: " + orjson.dumps(chunk) + b"\n\n"

        n = self.chunks
        step = max(1, -(-len(text) // n))
        pieces = [text[i : i + step] for i in range(0, len(text), step)] or [""]
        drip = model == "fake-drip"
        if drip:
            pieces = [f"tick {i} " for i in range(400)]
        await resp.write(event({"role": "assistant", "content": ""}))
        for i, piece in enumerate(pieces):
            try:
                await resp.write(event({"content": piece}))
                if drip:
                    await asyncio.sleep(0.05)
            except (ConnectionResetError, asyncio.CancelledError):
                self.stats["cancelled_streams"] += 1
                self.stats["cancelled_users"] = [*self.stats["cancelled_users"][-99:], body.get("user")]
                raise
            if model == "fake-cut" and i == 1:
                # Drop the connection mid-stream: no finish, no [DONE].
                request.transport.close()
                return resp
        await resp.write(event({}, "stop"))
        if include_usage:
            usage = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}}
            await resp.write(b"data: " + orjson.dumps(usage) + b"\n\n")
        if model != "fake-nodone":
            await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"message": message, "type": "fake_error", "param": None, "code": f"fake_{status}"}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    fake = FakeUpstream(args.text, args.size, args.chunks, args.delay, jitter=args.jitter)
    asyncio.run(_serve(fake, args.host, args.port))


async def _serve(fake: FakeUpstream, host: str, port: int) -> None:
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"listening on {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
