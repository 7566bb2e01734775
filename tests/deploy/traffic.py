"""Known traffic for the metrics tests, and what every metric and dashboard panel must then show.

The fake upstream answers "B" to every model except `fake-refuse` (a refusal) and `fake-status-500`
(an error). The proxy runs in quick-start mode with a model table on top: the upstream lists only
`fake-model`, so `fake-refuse` and `fake-answer` share the model label `other`: one model that
refuses some identities more than others, which is what the PB score measures. `fake-status-500`
is in the model table, so it keeps its own label.

Traffic comes in identical rounds. A window that holds whole rounds therefore shows each round's
rates exactly, whatever the number of rounds, and every series already exists before the window
opens (Prometheus's `increase` cannot see the first increment of a series that appears inside it).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

ANSWER = "B"  # what the fake upstream answers (`--text B`)
NONE = ("none", "none")
MODEL_LABELS = {"fake-model": "fake-model", "fake-answer": "other", "fake-refuse": "other", "fake-status-500": "fake-status-500"}
STATEMENTS = {("religion", "muslim"): "I am a Muslim person.", ("religion", "hindu"): "I am a Hindu person.", ("gender", "woman"): "I am a woman."}
MUSLIM, HINDU, WOMAN = ("religion", "muslim"), ("religion", "hindu"), ("gender", "woman")

POLICY_NAME = "deploy-test"
# Monitor mode changes nothing the upstream sees, so answers (and refusals and grades) stay as the
# fake upstream gives them, while defenses and probes still act and are counted.
POLICY = f"""\
name: {POLICY_NAME}
description: Records what equal_treatment would add and probes every persona-bearing request, changing nothing.
mode: monitor
defenses:
  - name: equal_treatment
  - name: counterfactual_probe
    share: 1.0
"""


@dataclass(frozen=True)
class Call:
    """One chat completion request, and what the proxy must make of it."""

    model: str
    identities: tuple[tuple[str, str], ...] = ()
    stream: bool = False
    expected: str | None = None  # the choice sent in X-Evenhand-Expected

    @property
    def label(self) -> str:
        return MODEL_LABELS[self.model]

    @property
    def status(self) -> int:
        return 500 if self.model == "fake-status-500" else 200

    @property
    def refused(self) -> bool:
        return self.model == "fake-refuse"

    @property
    def grade(self) -> str | None:
        if self.expected is None or self.status != 200 or self.refused:
            return None
        return "correct" if self.expected == ANSWER else "incorrect"

    @property
    def counted_as(self) -> tuple[tuple[str, str], ...]:
        """The (axis, identity) pairs the request counts under."""
        return self.identities or (NONE,)

    def send(self, client: httpx.Client) -> None:
        system = " ".join(["You are a helpful assistant.", *(STATEMENTS[i] for i in self.identities)])
        body = {"model": self.model, "stream": self.stream, "messages": [{"role": "system", "content": system}, {"role": "user", "content": "Which option is right: A, B, C or D?"}]}
        headers = {"X-Evenhand-Expected": f"choice={self.expected}"} if self.expected else {}
        with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as reply:
            reply.read()
        assert reply.status_code == self.status, (self, reply.status_code, reply.text[:300])


@dataclass(frozen=True)
class ProxyErrorCall:
    """A request the proxy itself refuses, before any upstream."""

    method: str
    path: str
    content: bytes | None
    status: int
    code: str

    def send(self, client: httpx.Client) -> None:
        reply = client.request(self.method, self.path, content=self.content, headers={"Content-Type": "application/json"})
        assert reply.status_code == self.status, (self, reply.status_code, reply.text[:300])


ROUND: tuple[Call, ...] = (
    # model `other`, no persona: 1 of 4 refused; 2 of 3 graded correct
    Call("fake-answer", expected="B"),
    Call("fake-answer", stream=True, expected="B"),
    Call("fake-answer", expected="C"),
    Call("fake-refuse"),
    # Muslim: 3 of 6 refused, 2 of 3 correct (two requests also state "woman")
    Call("fake-refuse", (MUSLIM,), stream=True),
    Call("fake-refuse", (MUSLIM,)),
    Call("fake-answer", (MUSLIM,), expected="B"),
    Call("fake-answer", (MUSLIM,), stream=True, expected="C"),
    Call("fake-refuse", (MUSLIM, WOMAN)),
    Call("fake-answer", (MUSLIM, WOMAN), expected="B"),
    # Hindu: never refused, always correct
    Call("fake-answer", (HINDU,), stream=True, expected="B"),
    Call("fake-answer", (HINDU,), expected="B"),
    Call("fake-answer", (HINDU,)),
    # another model, with its own series
    Call("fake-model"),
    Call("fake-model", (MUSLIM,), stream=True, expected="B"),
    # upstream errors
    Call("fake-status-500"),
    Call("fake-status-500", stream=True),
)
PROXY_ERRORS: tuple[ProxyErrorCall, ...] = (
    ProxyErrorCall("GET", "/v1/nope", None, 404, "unknown_route"),
    ProxyErrorCall("POST", "/v1/chat/completions", b"{not json", 400, "invalid_json"),
)


def send_round(client: httpx.Client) -> None:
    for call in ROUND:
        call.send(client)
    for err in PROXY_ERRORS:
        err.send(client)


# --- what the proxy exports ------------------------------------------------------------------

Key = tuple[str, frozenset[tuple[str, str]]]


@dataclass
class Exposition:
    """One `/metrics` answer: sample name and labels -> value."""

    samples: dict[Key, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Exposition":
        out = cls()
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                key = (s.name, frozenset(s.labels.items()))
                if key in out.samples:
                    raise AssertionError(f"duplicate series in /metrics: {s.name}{s.labels}")
                out.samples[key] = s.value
        return out

    @classmethod
    def fetch(cls, client: httpx.Client) -> "Exposition":
        reply = client.get("/metrics")
        reply.raise_for_status()
        return cls.parse(reply.text)

    def select(self, name: str, **match: str) -> dict[frozenset[tuple[str, str]], float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name and all((k, val) in labels for k, val in match.items())}

    def total(self, name: str, **match: str) -> float:
        return sum(self.select(name, **match).values())


def increases(before: Exposition, after: Exposition, name: str, **match: str) -> dict[frozenset[tuple[str, str]], float]:
    """What Prometheus's `increase` sees between two expositions: only series present in both."""
    old = before.select(name, **match)
    return {labels: v - old[labels] for labels, v in after.select(name, **match).items() if labels in old}


def group(values: Mapping[frozenset[tuple[str, str]], float], by: Sequence[str]) -> dict[frozenset[tuple[str, str]], float]:
    out: dict[frozenset[tuple[str, str]], float] = {}
    for labels, v in values.items():
        d = dict(labels)
        key = frozenset((k, d[k]) for k in by)
        out[key] = out.get(key, 0.0) + v
    return out


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """Prometheus's `histogram_quantile` on cumulative bucket counts (upper bound -> count)."""
    bounds = sorted(buckets)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return math.nan
    counts = [buckets[b] for b in bounds]
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


# --- what the traffic implies ------------------------------------------------------------------


def per_identity(calls: Iterable[Call], model: str, what) -> Counter:
    """Sum of `what(call)` per (axis, identity) over the calls of one model label."""
    out: Counter = Counter()
    for call in calls:
        if call.label == model:
            for identity in call.counted_as:
                out[identity] += what(call)
    return out


def requests(calls: Iterable[Call], model: str) -> Counter:
    return per_identity(calls, model, lambda c: 1)


def refusals(calls: Iterable[Call], model: str) -> Counter:
    return per_identity(calls, model, lambda c: int(c.refused))


def graded(calls: Iterable[Call], model: str) -> Counter:
    return Counter({k: v for k, v in per_identity(calls, model, lambda c: int(c.grade is not None)).items() if v})


def correct(calls: Iterable[Call], model: str) -> Counter:
    return per_identity(calls, model, lambda c: int(c.grade == "correct"))


def refusal_rates(calls: Sequence[Call], model: str) -> dict[tuple[str, str], float]:
    req, ref = requests(calls, model), refusals(calls, model)
    return {i: 100 * ref[i] / n for i, n in req.items() if n}


def accuracies(calls: Sequence[Call], model: str) -> dict[tuple[str, str], float]:
    gr, ok = graded(calls, model), correct(calls, model)
    return {i: 100 * ok[i] / n for i, n in gr.items() if n}


def pstdev(values: Sequence[float]) -> float | None:
    return statistics.pstdev(values) if values else None


def pb_scores(calls: Sequence[Call], model: str) -> tuple[float | None, float | None, float | None]:
    """(PB, PB safety, PB utility) over the identities (not the no-persona baseline)."""
    r = [v for i, v in refusal_rates(calls, model).items() if i != NONE]
    a = [v for i, v in accuracies(calls, model).items() if i != NONE]
    safety, utility = pstdev(r), pstdev(a)
    pb = math.sqrt(safety**2 + utility**2) if safety is not None and utility is not None else None
    return pb, safety, utility


def model_labels(calls: Iterable[Call]) -> list[str]:
    return sorted({c.label for c in calls})
