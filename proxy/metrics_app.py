"""`/metrics` on a port of its own (`server.metrics_port`), so it can be bound where only Prometheus
reaches it while the API port faces clients.

A bare ASGI app (no routing framework) served by a second uvicorn server on a thread of the main
process: a thread installs no signal handlers, so the main server keeps its own SIGTERM handling,
and with several workers the main process serves the sum of every worker's files (prometheus
multiprocess mode) without being a worker itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from proxy.errors import ProxyError

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
Exposition = Callable[[], bytes]


def metrics_app(exposition: Exposition) -> Callable[..., Any]:
    """An ASGI app answering `GET /metrics` (and HEAD) with `exposition()`, 404/405 otherwise."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers: list[tuple[bytes, bytes]]
        if scope["path"] != "/metrics":
            status, body = 404, ProxyError(404, f"Unknown route: {scope['method']} {scope['path']}", code="unknown_route").body()
            headers = [(b"content-type", b"application/json")]
        elif scope["method"] not in ("GET", "HEAD"):
            status, body = 405, ProxyError(405, f"Method {scope['method']} is not allowed on /metrics.", code="method_not_allowed").body()
            headers = [(b"content-type", b"application/json"), (b"allow", b"GET, HEAD")]
        else:
            status, body = 200, exposition()
            headers = [(b"content-type", CONTENT_TYPE)]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    return app


class MetricsServer:
    """The metrics app on `host:port`, on a daemon thread: `start()` returns once it listens."""

    def __init__(self, host: str, port: int, exposition: Exposition) -> None:
        config = uvicorn.Config(metrics_app(exposition), host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="evenhand-metrics", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> "MetricsServer":
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.01)
            if not self._thread.is_alive() or timeout <= 0:
                raise RuntimeError(f"the metrics server did not start: {self._error or 'timed out'}")
            timeout -= 0.01
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
