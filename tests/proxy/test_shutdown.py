"""Graceful shutdown: on SIGTERM the proxy stops accepting, finishes in-flight requests and streams
within the grace period (`server.shutdown_grace_seconds`), then exits 0."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid

import httpx

from tests.proxy.flaky_upstream import flaky_upstream_fixture
from tests.servers import Server, start_proxy_with_config


flaky = flaky_upstream_fixture("shutdown")


def proxy_with(flaky: Server, tmp_path, **server_config) -> Server:
    config = {"server": server_config, "upstreams": {"u": {"base_url": f"{flaky.url}/v1"}}, "default_upstream": "u"}
    path = tmp_path / "evenhand.yaml"
    return start_proxy_with_config(path, config)


class InFlight:
    """A request running on a thread; `lines` fills as the answer arrives."""

    def __init__(self, server: Server, model: str, stream: bool) -> None:
        self.lines: list[str] = []
        self.status: int | None = None
        self.error: BaseException | None = None
        self.first = threading.Event()
        body = {"model": model, "stream": stream, "user": uuid.uuid4().hex, "messages": [{"role": "user", "content": "Hi"}]}
        self.user = body["user"]
        self._thread = threading.Thread(target=self._run, args=(server, body), daemon=True)
        self._thread.start()

    def _run(self, server: Server, body: dict) -> None:
        try:
            with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line:
                        self.lines.append(line)
                        self.first.set()
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.first.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the request never ended"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def wait_until_upstream_has(flaky: Server, user: str) -> None:
    """The request is in flight once the upstream has it."""
    deadline = time.monotonic() + 10
    while not any(entry["extra"].get("user") == user for entry in httpx.get(f"{flaky.url}/flaky/log").json()):
        assert time.monotonic() < deadline, "the request never reached the upstream"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except (ConnectionRefusedError, ConnectionResetError):  # reset: caught in the closing listener's queue
        return True
    return False


def test_sigterm_stops_accepting_and_finishes_what_is_in_flight(flaky, tmp_path):
    proxy = proxy_with(flaky, tmp_path)
    try:
        stream = InFlight(proxy, "drip:40:0.1", stream=True)  # about 4 s
        plain = InFlight(proxy, "slow:shutdown:2", stream=False)
        assert stream.first.wait(10) and stream.status == 200
        wait_until_upstream_has(flaky, plain.user)
        proxy.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not refused(proxy.port):
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
        assert stream.running, "the stream should still be in flight when new connections are refused"
        stream.join(30)
        plain.join(30)
        assert stream.error is None and stream.lines[-1] == "data: [DONE]" and "tick 39" in "".join(stream.lines)
        assert plain.error is None and plain.status == 200 and "served by shutdown" in "".join(plain.lines)
        assert proxy.proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        proxy.stop()


def test_a_graceful_stop_exits_0(flaky, tmp_path):
    proxy = proxy_with(flaky, tmp_path)
    try:
        stream = InFlight(proxy, "drip:10:0.1", stream=True)
        assert stream.first.wait(10)
        proxy.proc.send_signal(signal.SIGTERM)
        stream.join(30)
        assert proxy.proc.wait(30) == 0
    finally:
        proxy.stop()


def test_the_grace_period_bounds_the_wait(flaky, tmp_path):
    """A stream longer than the grace period is cut when it ends, and the process exits then."""
    proxy = proxy_with(flaky, tmp_path, shutdown_grace_seconds=1)
    try:
        stream = InFlight(proxy, "drip:300:0.1", stream=True)  # about 30 s
        assert stream.first.wait(10)
        proxy.proc.send_signal(signal.SIGTERM)
        proxy.proc.wait(15)  # raises TimeoutExpired if the proxy waits for the whole stream
        stream.join(15)
        assert "data: [DONE]" not in stream.lines
    finally:
        proxy.stop()
