"""`evenhand serve --workers 2`: both workers serve, and /metrics, whichever worker answers it,
shows the exact totals of both, with every series once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.servers import REPO, Server, start_fake_upstream, start_proxy

BATCH = 40
MAX_REQUESTS = 400
# (model, stream) -> status; fake-refuse and fake-answer are not listed by the upstream: label "other"
KINDS = [("fake-model", False, 200), ("fake-model", True, 200), ("fake-refuse", False, 200), ("fake-answer", True, 200), ("fake-status-503", False, 503)]
LABEL = {"fake-model": "fake-model", "fake-refuse": "other", "fake-answer": "other", "fake-status-503": "other"}


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    multiproc = tmp_path_factory.mktemp("multiproc")
    # A previous run's counts left in the directory must not be added to this run's.
    stale = subprocess.run(
        [sys.executable, "-c", "from proxy.metrics import Metrics; m = Metrics(); m.count(m.requests, [('fake-model', 'none', 'none', 'none', 'none', 'false')], 1000)"],
        cwd=REPO, env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PATH": ""}, capture_output=True, text=True,
    )
    assert stale.returncode == 0 and list(multiproc.glob("counter_*.db")), stale.stderr
    upstream = start_fake_upstream()
    proxy = start_proxy("--upstream", f"{upstream.url}/v1", "--workers", "2", env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)})
    try:
        deadline = time.monotonic() + 60
        while proxy.output().count("Application startup complete") < 2:
            assert time.monotonic() < deadline and proxy.proc.poll() is None, proxy.output()[-3000:]
            time.sleep(0.05)
        yield proxy, multiproc
    finally:
        proxy.stop()
        upstream.stop()


def send(url: str, i: int) -> tuple[str, bool, int]:
    """One request on a fresh connection, so the kernel may hand it to either worker."""
    model, stream, status = KINDS[i % len(KINDS)]
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": f"request {i}"}]}
    with httpx.Client(base_url=url, timeout=30.0) as client, client.stream("POST", "/v1/chat/completions", json=body) as reply:
        reply.read()
    assert reply.status_code == status, reply.text
    return model, stream, status


def worker_totals(multiproc: Path) -> dict[str, float]:
    """Requests each worker process counted, read from its own file."""
    totals = {}
    for file in multiproc.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(file)], accumulate=False)
        totals[file.stem.split("_")[1]] = sum(s.value for m in metrics if m.name == "evenhand_requests" for s in m.samples)
    return totals


def exposition(text: str) -> dict[tuple[str, frozenset], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {s.name}{s.labels}"
            out[key] = s.value
    return out


def test_two_workers_serve_and_metrics_show_exact_totals(workers: tuple[Server, Path]) -> None:
    proxy, multiproc = workers
    sent: Counter = Counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        while sum(sent.values()) < MAX_REQUESTS:
            start = sum(sent.values())
            sent.update(pool.map(lambda i: send(proxy.url, i), range(start, start + BATCH)))
            serving = {pid: n for pid, n in worker_totals(multiproc).items() if n}
            if len(serving) == 2:
                break
    assert len(serving) == 2, f"only worker(s) {serving} served {sum(sent.values())} requests on fresh connections"
    total = sum(sent.values())
    assert sum(serving.values()) == total  # the stale file of the previous run was removed at start

    for _ in range(4):  # several scrapes, answered by either worker: all must agree
        with httpx.Client(base_url=proxy.url) as client:
            series = exposition(client.get("/metrics").text)
        requests = {dict(labels)["model"]: v for (name, labels), v in series.items() if name == "evenhand_requests_total"}
        by_label: Counter = Counter()
        for (model, stream, status), n in sent.items():
            by_label[LABEL[model]] += n
        assert requests == dict(by_label)
        durations = {(dict(l)["model"], dict(l)["stream"]): v for (name, l), v in series.items() if name == "evenhand_request_duration_seconds_count"}
        want: Counter = Counter()
        for (model, stream, status), n in sent.items():
            want[(LABEL[model], str(stream).lower())] += n
        assert durations == dict(want)
        errors = {(dict(l)["model"], dict(l)["status"]): v for (name, l), v in series.items() if name == "evenhand_upstream_errors_total"}
        assert errors == {("other", "503"): sum(n for (m, s, st), n in sent.items() if st == 503)}
        overhead = {dict(l)["stream"]: v for (name, l), v in series.items() if name == "evenhand_overhead_seconds_count"}
        assert sum(overhead.values()) == total
        for (name, labels), v in series.items():  # buckets are cumulative and end at the count
            if name.endswith("_bucket") and dict(labels)["le"] == "+Inf":
                rest = frozenset((k, x) for k, x in labels if k != "le")
                assert v == series[(name.removesuffix("_bucket") + "_count", rest)]
        assert not any(name.endswith("_created") for name, _ in series)
        assert {dict(l)["result"] for (name, l), v in series.items() if name == "evenhand_policy_reloads_total"} == {"ok", "error"}
        assert not any("pid" in dict(labels) for _, labels in series), "gauges must not split by worker"
