"""One real stack for the metrics tests: fake upstream -> proxy (2 workers) <- Prometheus, with known
traffic, observed at two scrapes that bracket it.

Order matters: one round of traffic goes first, so every series exists before Prometheus starts;
Prometheus's first scrape (t0) then sees that round whole; two more rounds follow, and the first
scrape that sees them all is t1. Queries at t1 over a window of exactly t1 - t0 see the two rounds
and nothing else, with no extrapolation (the window holds samples at both of its ends).
"""

from __future__ import annotations

import time
from datetime import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.prometheus import Prometheus, binary, scrape_config
from tests.deploy.traffic import ANSWER, POLICY, ROUND, Call, Exposition, send_round
from tests.servers import Server, start_fake_upstream, start_proxy

MAIN_ROUNDS = 2
SETTLE = 15.0  # bound on waiting for the proxy to count the requests sent
PROBES = 5.0  # and then for the background probes of persona-bearing requests


@dataclass
class Stack:
    proxy: Server
    prometheus: Prometheus
    policy_file: Path
    t0: float
    t1: float
    before: Exposition  # /metrics at t0
    after: Exposition  # /metrics at t1
    window: list[Call]  # the traffic between t0 and t1
    rounds: int
    _rules_at: float | None = None

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0

    @property
    def range(self) -> str:
        """The window as a PromQL duration (milliseconds are exact: sample timestamps are in ms)."""
        return f"{round(self.seconds * 1000)}ms"

    def rules_evaluated(self) -> float:
        """A moment at which the recording rules had been evaluated on all the traffic."""
        if self._rules_at is None:

            def evaluated() -> float | None:
                groups = self.prometheus.api("rules", type="record")["groups"]
                stamps = [datetime.fromisoformat(g["lastEvaluation"]).timestamp() for g in groups]
                return min(stamps) if stamps and min(stamps) > self.t1 + 1 else None

            self._rules_at = self.prometheus.wait_until("evaluate the rules after the traffic", evaluated)
        return self._rules_at

    def labels(self, name: str) -> set[str]:
        return {v for (n, labels) in self.after.samples for k, v in labels if n == "evenhand_requests_total" and k == name}


def wait_for_workers(proxy: Server, workers: int) -> None:
    """uvicorn reports each worker's startup; the first report is what `start_proxy` waited for."""
    deadline = time.monotonic() + 60
    while proxy.output().count("Application startup complete") < workers:
        if time.monotonic() > deadline or proxy.proc.poll() is not None:
            raise AssertionError("the proxy's workers did not all start:\n" + proxy.output()[-3000:])
        time.sleep(0.05)


def settle(client: httpx.Client, rounds: int) -> Exposition:
    """/metrics once the proxy has counted `rounds` rounds (and their background probes, if it probes)."""
    requests = rounds * len(ROUND)
    probes = rounds * sum(len(c.identities) for c in ROUND if c.identities)
    deadline = time.monotonic() + SETTLE
    while (seen := Exposition.fetch(client)).total("evenhand_request_duration_seconds_count") != requests:
        if time.monotonic() > deadline:
            raise AssertionError(f"the proxy counted {seen.total('evenhand_request_duration_seconds_count')} requests, not {requests}")
        time.sleep(0.1)
    personas = any(dict(labels).get("axis") not in (None, "none") for (n, labels) in seen.samples if n == "evenhand_requests_total")
    deadline = time.monotonic() + PROBES
    while personas and seen.total("evenhand_probes_total") < probes and time.monotonic() < deadline:
        time.sleep(0.1)  # if they never complete, the probe panels' tests say so
        seen = Exposition.fetch(client)
    return seen


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary("prometheus")
    work = tmp_path_factory.mktemp("metrics-stack")
    upstream = start_fake_upstream("--text", ANSWER)
    policy_file = work / "deploy-test.yaml"
    policy_file.write_text(POLICY)
    config = {
        "server": {"workers": 2},
        "upstreams": {"fake": {"base_url": f"{upstream.url}/v1"}},
        "default_upstream": "fake",
        "models": {"fake-status-500": {"upstream": "fake"}},
    }
    config_file = work / "evenhand.yaml"
    config_file.write_text(yaml.safe_dump(config))
    proxy = prometheus = None
    try:
        proxy = start_proxy("--config", str(config_file), "--policy", str(policy_file), env={"PROMETHEUS_MULTIPROC_DIR": str(work / "multiproc")})
        wait_for_workers(proxy, 2)
        with httpx.Client(base_url=proxy.url, timeout=30.0) as client:
            send_round(client)
            before = settle(client, 1)

            prometheus = Prometheus(scrape_config(f"127.0.0.1:{proxy.port}"), work / "prometheus")
            first = prometheus.wait_until("scrape the proxy", lambda: prometheus.samples("evenhand_request_duration_seconds_count[1m]"))
            starts = {samples[0][0] for samples in first.values()}
            assert len(starts) == 1, f"series first seen at different scrapes: {starts}"
            t0 = starts.pop()

            for _ in range(MAIN_ROUNDS):
                send_round(client)
            after = settle(client, 1 + MAIN_ROUNDS)
        total = after.total("evenhand_request_duration_seconds_count")

        def scraped_all() -> float | None:
            if prometheus.query("sum(evenhand_request_duration_seconds_count)") != {frozenset(): total}:
                return None
            return max(prometheus.query("timestamp(evenhand_request_duration_seconds_count)").values())

        t1 = prometheus.wait_until("scrape all the traffic", scraped_all)
        yield Stack(proxy, prometheus, policy_file, t0, t1, before, after, list(ROUND) * MAIN_ROUNDS, MAIN_ROUNDS)
    finally:
        if prometheus is not None:
            prometheus.stop()
        if proxy is not None:
            proxy.stop()
        upstream.stop()
