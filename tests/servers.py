"""Real servers for tests: started as subprocesses on free loopback ports, ready when they say so.

Readiness is what the server prints (never a sleep): the fake upstream prints `listening on
PORT`; uvicorn logs `Application startup complete` and `Uvicorn running on`, and a single-process
uvicorn binds its port only between the two, so the proxy is ready once both are out.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tests.paths import REPO
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A subprocess whose output is drained on a thread, so it never blocks on a full pipe."""

    def __init__(self, argv: Sequence[str], ready_line: str | tuple[str, ...], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.lines: list[str] = []
        self._ready: queue.Queue[bool] = queue.Queue()
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(list(argv), cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._drain, args=(ready_line,), daemon=True).start()
        try:
            ok = self._ready.get(timeout=START_TIMEOUT)
        except queue.Empty:
            ok = False
        if not ok:
            self.stop()
            raise RuntimeError(f"{argv[:4]} did not start:\n" + "".join(self.lines[-40:]))

    def _drain(self, ready_line: str | tuple[str, ...]) -> None:
        told = False
        waiting = {ready_line} if isinstance(ready_line, str) else set(ready_line)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            waiting = {w for w in waiting if w not in line}
            if not told and not waiting:
                told = True
                self._ready.put(True)
        if not told:
            self._ready.put(False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_fake_upstream(*args: str) -> Server:
    port = free_port()
    return Server([sys.executable, "-m", "loadtest.fake_upstream", "--port", str(port), *args], f"listening on {port}", port)


def start_proxy(*args: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "proxy.cli", "serve", "--port", str(port), *args]
    return Server(argv, ("Application startup complete", "Uvicorn running on"), port, env=env)



def start_llama_server(model: Path, threads: int = 1, ctx: int = 2048) -> Server:
    from proxy.local_model import LocalModelServer

    local = LocalModelServer(model, threads=threads, ctx=ctx, port=free_port())
    return Server(local.argv, "Uvicorn running on", local.port)


def start_proxy_with_config(path: Path, config: dict, *args: str, env: dict[str, str] | None = None) -> Server:
    """Write `config` to `path` as YAML (keys in the order given) and start a proxy with it."""
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return start_proxy("--config", str(path), *args, env=env)
