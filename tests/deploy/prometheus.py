"""A real Prometheus for tests (Debian's `prometheus` package), and its HTTP API.

The deploy config is used as shipped, with only what a test must change: the target (the proxy on
its loopback port), 1 s scrape and rule intervals, and absolute rule file paths.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.dashboards import DEPLOY
from tests.servers import Server, free_port

PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
READY_LINE = "Server is ready to receive web requests"
WAIT = 30.0  # bound on every wait for Prometheus to catch up

Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]


def binary(name: str) -> str:
    """A Prometheus binary, or a failed test saying how to get it (CI installs it: `make system-deps`)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed: run `make system-deps` (apt-get install prometheus); the metrics tests need a real Prometheus")
    return path


def scrape_config(target: str, rule_dir: Path | None = None) -> dict[str, Any]:
    """The shipped scrape config, pointed at `target` and sped up for a test."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    base = rule_dir or PROMETHEUS_CONFIG.parent
    config["rule_files"] = [str((base / f).resolve()) for f in config.get("rule_files", [])]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    return config


class Prometheus:
    def __init__(self, config: Mapping[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(dict(config)))
        port = free_port()
        argv = [
            binary("prometheus"),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        self.server = Server(argv, READY_LINE, port)
        self.url = self.server.url
        self.client = httpx.Client(base_url=self.url, timeout=10.0)

    def stop(self) -> None:
        self.client.close()
        self.server.stop()

    def api(self, path: str, **params: Any) -> Any:
        reply = self.client.get(f"/api/v1/{path}", params=params)
        body = reply.json()
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> Vector:
        """An instant query as a {labels: value} map (a scalar answer has empty labels)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        if data["resultType"] == "scalar":
            return {frozenset(): float(data["result"][1])}
        if data["resultType"] != "vector":
            raise AssertionError(f"{expr!r} gave a {data['resultType']}, not a vector")
        return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data["result"]}

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)["result"]

    def samples(self, expr: str, at: float | None = None) -> dict[Labels, list[tuple[float, float]]]:
        """The raw samples of a range selector (`metric[1m]`), with their timestamps."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        assert data["resultType"] == "matrix", data["resultType"]
        return {frozenset(r["metric"].items()): [(float(t), float(v)) for t, v in r["values"]] for r in data["result"]}

    def wait_until(self, what: str, check: Callable[[], Any]) -> Any:
        """Poll `check` until it returns something truthy, for at most WAIT seconds."""
        deadline = time.monotonic() + WAIT
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not {what} within {WAIT:.0f} s (last: {last!r})")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def comparable(vector: Vector) -> Vector:
    """A result with the metric name dropped (recorded series carry it, expressions do not)."""
    return {frozenset((k, v) for k, v in labels if k != "__name__"): value for labels, value in vector.items()}


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
