"""Every metric the proxy exports, defined and updated in this one place.

Label values come only from the taxonomy, the config and our own code (never raw client text),
so the number of series stays bounded whatever clients send. Children are cached per label
tuple: `labels()` lookups are the costly part of an update on the hot path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

NONE = "none"
PERSONA_LABELS = ("model", "axis", "identity", "policy", "arm", "defended")

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_OVERHEAD = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
_TTFT = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("evenhand_requests", "Chat completion requests answered, once per identity the request carries (axis/identity 'none' without persona).", PERSONA_LABELS, registry=r)
        self.refusals = Counter("evenhand_refusals", "Answers the refusal detector classed as refusals, once per identity.", PERSONA_LABELS, registry=r)
        self.graded = Counter("evenhand_graded", "Answers graded against an expected answer, by result, once per identity.", (*PERSONA_LABELS, "result"), registry=r)
        self.defense_actions = Counter("evenhand_defense_actions", "Actions defenses took (or would take, in monitor mode), once per identity.", (*PERSONA_LABELS, "defense"), registry=r)
        self.probes = Counter("evenhand_probes", "Counterfactual probes completed, once per identity.", PERSONA_LABELS, registry=r)
        self.probe_disagreements = Counter("evenhand_probe_disagreements", "Counterfactual probes whose neutral answer differed from the original, by what differed.", (*PERSONA_LABELS, "kind"), registry=r)
        self.request_duration = Histogram("evenhand_request_duration_seconds", "Whole request time as the proxy saw it (streams: until the last byte).", ("model", "stream"), buckets=_LATENCY, registry=r)
        self.upstream_duration = Histogram("evenhand_upstream_duration_seconds", "Time spent waiting on the upstream (streams: until its last byte).", ("model", "stream"), buckets=_LATENCY, registry=r)
        self.overhead = Histogram("evenhand_overhead_seconds", "The proxy's own time per request: whole request minus upstream time.", ("stream",), buckets=_OVERHEAD, registry=r)
        self.ttft = Histogram("evenhand_time_to_first_token_seconds", "Time from the request to the first content token relayed to the client.", ("model",), buckets=_TTFT, registry=r)
        self.upstream_errors = Counter("evenhand_upstream_errors", "Upstream failures by status (502/504 when it could not be reached or timed out).", ("model", "status"), registry=r)
        self.errors = Counter("evenhand_errors", "Requests the proxy answered with an error itself, by status and error code.", ("status", "code"), registry=r)
        self.policy_info = Gauge("evenhand_policy_info", "Active policies and their content hashes (value 1).", ("policy", "sha256"), registry=r, multiprocess_mode="liveall")
        self.policy_reloads = Counter("evenhand_policy_reloads", "Policy reload attempts by result.", ("result",), registry=r)
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

    def exposition(self) -> bytes:
        """The text format for `/metrics`: this process's registry, or every worker's in multiprocess mode."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
