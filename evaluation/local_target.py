"""A local model as the target of `evenhand eval`: behind a proxy of its own, or alone.

Behind the proxy (the default) the run is the real thing: `evenhand serve --local-model NAME` in a
subprocess, with an admin key made for this run only, so each arm's policy is chosen per request
and applied by the proxy exactly as in production. Alone (`--no-proxy-arms`) llama.cpp's server is
evaluated directly, one arm, no defenses. Either way the servers stop when the run ends.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import proxy
from proxy.local_model import LOCAL_MODELS, MODEL_DIR_ENV, LocalModelServer, ServerProcess, free_port, model_dir, resolve_model

START_TIMEOUT = 600.0  # loading a 1 GB model on a busy CPU


@dataclass(frozen=True, slots=True)
class LocalTarget:
    base_url: str
    model: str  # the name to request
    admin_key: str | None
    description: dict[str, object]  # for the results' meta


def _proxy_env(directory: Path) -> dict[str, str]:
    """The caller's environment without settings meant for their own proxy (keys, upstream, ports,
    a metrics directory the proxy would empty), plus where the package and the models are."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENHAND_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    package_root = str(Path(proxy.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env[MODEL_DIR_ENV] = str(directory)
    return env


@contextmanager
def local_target(name: str, *, through_proxy: bool, threads: int, directory: Path | None = None) -> Iterator[LocalTarget]:
    """Start the model (fetching and verifying it first if needed) and yield where to send requests."""
    directory = directory or model_dir()
    model, gguf = resolve_model(name, directory)  # fetches here, where the user sees the message
    described: dict[str, object] = {"name": model, "file": gguf.name, "threads": threads, "through_proxy": through_proxy}
    if not through_proxy:
        server = LocalModelServer(gguf, threads=threads)
        try:
            yield LocalTarget(server.start(START_TIMEOUT), model, None, described)
        finally:
            server.stop()
        return
    admin_key = "sk-eval-" + secrets.token_urlsafe(24)
    port = free_port()
    argv = [
        sys.executable, "-m", "proxy.cli", "serve", "--local-model", name if name in LOCAL_MODELS else str(gguf),
        "--local-threads", str(threads), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = _proxy_env(directory) | {"EVENHAND_ADMIN_KEY": admin_key}
    server = ServerProcess(argv, f"Uvicorn running on http://127.0.0.1:{port}", env)
    print(f"evenhand eval: starting the proxy in front of {model} ({gguf.name})", file=sys.stderr, flush=True)
    try:
        server.start_process(START_TIMEOUT)
        yield LocalTarget(f"http://127.0.0.1:{port}/v1", model, admin_key, described)
    finally:
        server.stop()
