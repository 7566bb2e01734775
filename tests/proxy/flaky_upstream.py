"""An OpenAI-compatible upstream that fails on purpose, as scripted by the model name.

Run as a process (`python -m tests.proxy.flaky_upstream --port N --name A`, ready when it prints
`listening on N`) or in a thread of the test (`start_in_thread`). Behaviours, chosen per request
by the model name (`KEY` scopes a counter, so each test counts its own requests):

- `fail:KEY:N:STATUS[:RETRY_AFTER]`: the first N requests answer STATUS (an OpenAI error body, with
  `Retry-After` when given), later ones succeed.
- `drop:KEY:N`: the first N requests have their connection closed without an answer.
- `streamdrop:KEY:N`: the first N streams send their headers, then close before any event.
- `cut:KEY`: streams one content event, then closes the connection.
- `slow:KEY:SECONDS`: waits SECONDS before answering (streams: before the headers).
- `stall:SECONDS`: streams one content event, then waits SECONDS before finishing.
- `drip:N:SECONDS`: streams N content events SECONDS apart.
- `garbage`: a 200 stream of bytes that are not events, then the end of the response.
- anything else: a normal answer, `served by NAME` (streamed in three events when asked).

`GET /flaky/log` lists what arrived (model, Authorization header, extra fields); `GET
/flaky/count/KEY` counts the requests KEY's behaviour received.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import orjson
from aiohttp import web


class FlakyUpstream:
    def __init__(self, name: str = "flaky") -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.log: list[dict] = []

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/flaky/log", self.get_log)
        app.router.add_get("/flaky/count/{key}", self.get_count)
        return app

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "flaky-model", "object": "model", "created": 0, "owned_by": self.name}]})

    async def get_log(self, request: web.Request) -> web.Response:
        return web.json_response(self.log[-200:])

    async def get_count(self, request: web.Request) -> web.Response:
        return web.json_response(self.counts[request.match_info["key"]])

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        model = str(body.get("model", ""))
        extra = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        self.log.append({"model": model, "authorization": request.headers.get("Authorization"), "extra": extra, "upstream": self.name})
        parts = model.split(":")
        kind = parts[0]
        if kind in ("fail", "drop", "streamdrop", "cut", "slow"):
            self.counts[parts[1]] += 1
            seen = self.counts[parts[1]]
            if kind == "fail" and seen <= int(parts[2]):
                headers = {"Retry-After": parts[4]} if len(parts) > 4 else {}
                error = {"error": {"message": f"scripted {parts[3]}", "type": "scripted", "param": None, "code": f"scripted_{parts[3]}"}}
                return web.json_response(error, status=int(parts[3]), headers=headers)
            if kind == "drop" and seen <= int(parts[2]):
                request.transport.close()  # type: ignore[union-attr]
                return web.Response()
            if kind == "streamdrop" and seen <= int(parts[2]):
                resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await resp.prepare(request)
                request.transport.close()  # type: ignore[union-attr]
                return resp
            if kind == "slow":
                await asyncio.sleep(float(parts[2]))
        if body.get("stream"):
            return await self._stream(request, model, parts)
        text = f"served by {self.name}"
        return web.json_response(
            {
                "id": "chatcmpl-flaky",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
            }
        )

    async def _stream(self, request: web.Request, model: str, parts: list[str]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        def event(delta: dict, finish: str | None = None) -> bytes:
            chunk = {"id": "chatcmpl-flaky", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + orjson.dumps(chunk) + b"\n\n"

        kind = parts[0]
        if kind == "garbage":
            await resp.write(b"<html>this is not an event stream</html>\n")
            await resp.write_eof()
            return resp
        await resp.write(event({"role": "assistant", "content": "served "}))
        if kind == "cut":
            request.transport.close()  # type: ignore[union-attr]
            return resp
        if kind == "stall":
            await asyncio.sleep(float(parts[1]))
        if kind == "drip":
            for i in range(int(parts[1])):
                await resp.write(event({"content": f"tick {i} "}))
                await asyncio.sleep(float(parts[2]))
        await resp.write(event({"content": f"by {self.name}"}))
        await resp.write(event({}, "stop"))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def start_in_thread(name: str = "flaky") -> tuple[FlakyUpstream, str, Callable[[], None]]:
    """Serve a FlakyUpstream on a loopback port from a thread: (it, its base URL ending in /v1, stop)."""
    upstream = FlakyUpstream(name)
    ready = threading.Event()
    holder: dict = {}

    async def serve() -> None:
        runner = web.AppRunner(upstream.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder["stop"] = asyncio.Event()
        holder["loop"] = asyncio.get_running_loop()
        ready.set()
        await holder["stop"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    if not ready.wait(timeout=30):
        raise RuntimeError("the flaky upstream did not start")

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=10)

    return upstream, f"http://127.0.0.1:{holder['port']}/v1", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="flaky")
    args = parser.parse_args()

    async def serve() -> None:
        runner = web.AppRunner(FlakyUpstream(args.name).app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        print(f"listening on {args.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


def start_flaky_upstream(name: str = "flaky"):
    """The flaky upstream as a process (a `tests.servers.Server`)."""
    from tests.servers import Server, free_port

    port = free_port()
    return Server([sys.executable, "-m", "tests.proxy.flaky_upstream", "--port", str(port), "--name", name], f"listening on {port}", port)


def flaky_upstream_fixture(name: str) -> Callable[[], Iterator]:
    """A module-scoped pytest fixture: a flaky upstream process named `name`, stopped after the module."""
    import pytest

    @pytest.fixture(scope="module")
    def upstream() -> Iterator:
        server = start_flaky_upstream(name)
        yield server
        server.stop()

    return upstream


if __name__ == "__main__":
    main()
