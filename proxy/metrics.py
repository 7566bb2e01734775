"""Every metric the proxy exports, defined and updated in this one place.

Label values come only from the taxonomy, the config and our own code (never raw client text),
so the number of series stays bounded whatever clients send. Children are cached per label
tuple: `labels()` lookups are the costly part of an update on the hot path.

With several workers (`evenhand serve --workers N`) every process writes its values to
memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` and `/metrics` sums them, so any worker answers
a scrape with the totals of all of them. The dashboards in `deploy/` read these names; rename
nothing without changing them.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# `_created` series exist only in single-process mode; without them both modes export the same series.
disable_created_metrics()

NONE = "none"
PERSONA_LABELS = ("model", "axis", "identity", "policy", "arm", "defended")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Whole request and upstream time: from a cached answer to a long generation.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# The proxy's own time: tens of microseconds to a slow moment; fine around 1 ms, where p50/p99 live.
_OVERHEAD = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25)
_TTFT = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        per_identity = "Counted once per identity the request carries (axis and identity 'none' without one)."
        self.requests = Counter("evenhand_requests", f"Chat completion requests, answered or failed. {per_identity}", PERSONA_LABELS, registry=r)
        self.refusals = Counter("evenhand_refusals", f"Answers the refusal detector classed as refusals. {per_identity}", PERSONA_LABELS, registry=r)
        self.graded = Counter("evenhand_graded", f"Answers graded against the expected answer the client sent, by result (correct, incorrect, unparsed). {per_identity}", (*PERSONA_LABELS, "result"), registry=r)
        self.feedback = Counter("evenhand_feedback", f"User feedback posted to /v1/evenhand/feedback on earlier answers, by result (correct, incorrect). {per_identity}", (*PERSONA_LABELS, "result"), registry=r)
        self.defense_actions = Counter("evenhand_defense_actions", f"Actions defenses took (or would take, in monitor mode), by defense. {per_identity}", (*PERSONA_LABELS, "defense"), registry=r)
        self.probes = Counter("evenhand_probes", f"Counterfactual probes completed (the request sent again without its identity). {per_identity}", PERSONA_LABELS, registry=r)
        self.probe_disagreements = Counter("evenhand_probe_disagreements", f"Counterfactual probes whose answer without the identity differed from the original, by what differed. {per_identity}", (*PERSONA_LABELS, "kind"), registry=r)
        self.request_duration = Histogram("evenhand_request_duration_seconds", "Whole request time as the proxy saw it, once per request (streams: until the last byte).", ("model", "stream"), buckets=_LATENCY, registry=r)
        self.upstream_duration = Histogram("evenhand_upstream_duration_seconds", "Time spent waiting on the upstream (streams: until its last byte).", ("model", "stream"), buckets=_LATENCY, registry=r)
        self.overhead = Histogram("evenhand_overhead_seconds", "The latency the proxy adds: whole request time minus upstream time.", ("stream",), buckets=_OVERHEAD, registry=r)
        self.ttft = Histogram("evenhand_time_to_first_token_seconds", "Streams: time from the request to the first content token relayed to the client.", ("model",), buckets=_TTFT, registry=r)
        self.upstream_errors = Counter("evenhand_upstream_errors", "Requests the upstream failed, by status: its own 4xx/5xx, 502 when unreachable, broken off or malformed, 504 when it timed out.", ("model", "status"), registry=r)
        self.errors = Counter("evenhand_errors", "Requests the proxy answered with an error itself, by status and error code.", ("status", "code"), registry=r)
        # livemax: one series per policy however many workers run; a worker that exits stops counting.
        self.policy_info = Gauge("evenhand_policy_info", "Policies in force: 1 for each loaded policy and the SHA-256 of its file, 0 once replaced.", ("policy", "sha256"), registry=r, multiprocess_mode="livemax")
        self.policy_reloads = Counter("evenhand_policy_reloads", "Policy reloads by result (ok, error); on error the policies in force stay.", ("result",), registry=r)
        for result in ("ok", "error"):
            self.policy_reloads.labels(result)  # exported at 0, so the first error shows as an increase
        self._policies: dict[str, str] = {}
        self._children: dict[tuple, object] = {}

    def _child(self, metric, key: tuple):
        cache_key = (id(metric), key)
        child = self._children.get(cache_key)
        if child is None:
            child = self._children[cache_key] = metric.labels(*key)
        return child

    def count(self, metric: Counter, keys: Iterable[tuple], amount: float = 1.0) -> None:
        for key in keys:
            self._child(metric, key).inc(amount)

    def observe(self, metric: Histogram, key: tuple, value: float) -> None:
        self._child(metric, key).observe(value)

    def error(self, status: int, code: str | None) -> None:
        self._child(self.errors, (str(status), code or NONE)).inc()

    def upstream_error(self, model: str, status: int) -> None:
        self._child(self.upstream_errors, (model, str(status))).inc()

    def policies_loaded(self, policies: Mapping[str, str]) -> None:
        """The policies now in force, name -> SHA-256 of the file. Replaced ones drop to 0 rather than
        vanish: multiprocess files cannot forget a series."""
        for name, sha in self._policies.items():
            if policies.get(name) != sha:
                self.policy_info.labels(name, sha).set(0)
        for name, sha in policies.items():
            self.policy_info.labels(name, sha).set(1)
        self._policies = dict(policies)

    def policy_reload(self, ok: bool) -> None:
        self.policy_reloads.labels("ok" if ok else "error").inc()

    def exposition(self) -> bytes:
        """The text format for `/metrics`: this process's registry, or every worker's in multiprocess mode."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def prepare_multiprocess_dir(path: str) -> None:
    """Create the directory, or empty it of a previous run's files, whose counts would otherwise be
    added to this run's."""
    os.makedirs(path, exist_ok=True)
    for file in glob.glob(os.path.join(path, "*.db")):
        os.remove(file)


def forget_dead_processes(path: str | None = None) -> None:
    """Drop the live gauges of worker processes that are gone (a crashed worker cannot do it itself).
    Counters and histograms of dead workers stay: their counts still belong in the totals."""
    path = path or multiprocess_dir()
    if not path:
        return
    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not _alive(int(match.group(1))):
            mark_process_dead(int(match.group(1)), path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
