"""Running the app under uvicorn, with one process or several.

With `--workers N` uvicorn starts N processes that import the app by name, so the config travels
to them in an environment variable and metrics switch to prometheus-client's multiprocess mode
(one directory of memory-mapped files, summed at `/metrics`). The directory is
`PROMETHEUS_MULTIPROC_DIR` if set (emptied at start: a previous run's counts must not add to
this one's), else a fresh temporary one, removed at exit.
"""

from __future__ import annotations

import atexit
import os
import signal
import shutil
import tempfile

import uvicorn
from fastapi import FastAPI

from proxy.app import create_app
from proxy.config import Config
from proxy.metrics_app import MetricsServer
from proxy.metrics import MULTIPROC_ENV, Metrics, forget_dead_processes, multiprocess_dir, prepare_multiprocess_dir

CONFIG_ENV = "EVENHAND_CONFIG_JSON"


def build_app(config: Config) -> FastAPI:
    from proxy.wiring import build_pipeline

    return create_app(config, build_pipeline(config))


def app_from_env() -> FastAPI:
    """uvicorn's factory for worker processes."""
    path = multiprocess_dir()
    if path:
        # A worker replacing a crashed one clears the crashed one's live gauges; its own go at exit.
        forget_dead_processes(path)
        atexit.register(forget_process, os.getpid(), path)
    return build_app(Config.model_validate_json(os.environ[CONFIG_ENV]))


def forget_process(pid: int, path: str) -> None:
    from prometheus_client.multiprocess import mark_process_dead

    if os.path.isdir(path):
        mark_process_dead(pid, path)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(config: Config) -> None:
    # uvicorn finishes in-flight requests on SIGTERM, then raises the signal again with the handler
    # it found installed: this one, so a graceful stop exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    server = config.server
    options = dict(host=server.host, port=server.port, loop="uvloop", http="httptools", access_log=False, proxy_headers=False, log_level="info", timeout_graceful_shutdown=server.shutdown_grace_seconds)
    given_dir = multiprocess_dir()
    if given_dir:
        prepare_multiprocess_dir(given_dir)
    if server.workers == 1:
        app = build_app(config)
        side = MetricsServer(server.host, server.metrics_port, app.state.evenhand.metrics.exposition).start() if server.metrics_port else None
        try:
            uvicorn.run(app, **options)
        finally:
            if side is not None:
                side.stop()
        return
    os.environ[CONFIG_ENV] = config.model_dump_json()
    made_dir = None
    if not given_dir:
        made_dir = tempfile.mkdtemp(prefix="evenhand-metrics-")
        os.environ[MULTIPROC_ENV] = made_dir
    # in multiprocess mode any process can sum the workers' files: the main process serves the metrics port
    side = MetricsServer(server.host, server.metrics_port, Metrics().exposition).start() if server.metrics_port else None
    try:
        uvicorn.run("proxy.server:app_from_env", factory=True, workers=server.workers, **options)
    finally:
        if side is not None:
            side.stop()
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)
