"""Every PromQL expression in the Grafana dashboard, run by a real Prometheus that scraped a real
two-worker proxy after known traffic, must return the series and values that traffic implies.

Grafana's variables get concrete values: `$__range` and `$__rate_interval` are the window between
the two scrapes that bracket the traffic (see conftest.py), `$policy` and `$arm` are "All", and
`$model` is each model label the traffic used. Values that follow from the traffic alone (requests,
refusals, grades, errors, PB) are computed from the traffic; latency quantiles, defense actions and
probes from the proxy's own /metrics at both ends of the window.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import pytest

from tests.deploy.conftest import Stack
from tests.deploy.dashboards import ALL, Query, fill, load, queries
from tests.deploy.prometheus import Vector, comparable, same
from tests.deploy.traffic import (
    NONE,
    POLICY_NAME,
    PROXY_ERRORS,
    ROUND,
    Call,
    accuracies,
    graded,
    group,
    histogram_quantile,
    increases,
    model_labels,
    pb_scores,
    refusal_rates,
    requests,
)

pytestmark = pytest.mark.prometheus

MODELS = model_labels(ROUND)


def L(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def by_identity(values: dict[tuple[str, str], float], keep_none: bool = True) -> Vector:
    return {L(axis=a, identity=i): v for (a, i), v in values.items() if keep_none or (a, i) != NONE}


class Expect:
    """What each panel must show for one model over the window."""

    def __init__(self, stack: Stack, model: str) -> None:
        self.s = stack
        self.model = model
        self.calls: list[Call] = stack.window
        (self.policy,) = stack.labels("policy")
        (self.arm,) = stack.labels("arm")

    # traffic-implied -----------------------------------------------------------------------
    def population(self, value: float | None) -> Vector:
        return {} if value is None else {L(policy=self.policy, arm=self.arm): value}

    def pb(self) -> Vector:
        return self.population(pb_scores(self.calls, self.model)[0])

    def pb_safety(self) -> Vector:
        return self.population(pb_scores(self.calls, self.model)[1])

    def pb_utility(self) -> Vector:
        return self.population(pb_scores(self.calls, self.model)[2])

    def count(self) -> float:
        return sum(1 for c in self.calls if c.label == self.model)

    def requests(self) -> Vector:
        return {L(): self.count()}

    def upstream_error_ratio(self) -> Vector:
        failed = sum(1 for c in self.calls if c.label == self.model and c.status >= 400)
        return {L(): 100 * failed / self.count()}

    def refusal(self, baseline: bool) -> Vector:
        rates = refusal_rates(self.calls, self.model)
        if baseline:
            return {L(): rates[NONE]} if NONE in rates else {}
        return by_identity(rates, keep_none=False)

    def accuracy(self, baseline: bool) -> Vector:
        rates = accuracies(self.calls, self.model)
        if baseline:
            return {L(): rates[NONE]} if NONE in rates else {}
        return by_identity(rates, keep_none=False)

    def table_requests(self) -> Vector:
        return by_identity(dict(requests(self.calls, self.model)))

    def table_refusal(self) -> Vector:
        return by_identity(refusal_rates(self.calls, self.model))

    def table_refusal_delta(self) -> Vector:
        rates = refusal_rates(self.calls, self.model)
        return {} if NONE not in rates else by_identity({i: v - rates[NONE] for i, v in rates.items()})

    def table_graded(self) -> Vector:
        return by_identity(dict(graded(self.calls, self.model)))

    def table_accuracy(self) -> Vector:
        return by_identity(accuracies(self.calls, self.model))

    def table_accuracy_delta(self) -> Vector:
        rates = accuracies(self.calls, self.model)
        return {} if NONE not in rates else by_identity({i: v - rates[NONE] for i, v in rates.items()})

    def requests_per_second(self) -> Vector:
        return {k: v / self.s.seconds for k, v in self.table_requests().items()}

    def proxy_errors_per_second(self) -> Vector:
        per_round = {L(status=str(e.status), code=e.code): 1.0 for e in PROXY_ERRORS}
        return {k: v * self.s.rounds / self.s.seconds for k, v in per_round.items()}

    def upstream_errors_per_second(self) -> Vector:
        out: dict = {}
        for c in self.calls:
            if c.status >= 400:
                key = L(model=c.label, status=str(c.status))
                out[key] = out.get(key, 0.0) + 1 / self.s.seconds
        return out

    # from the proxy's own counts at both ends of the window ------------------------------
    def increases(self, name: str, **match: str) -> dict:
        return increases(self.s.before, self.s.after, name, **match)

    def quantile(self, q: float, name: str, **match: str) -> Vector:
        buckets = group(self.increases(f"{name}_bucket", **match), ["le"])
        if not buckets:
            return {}
        return {L(): histogram_quantile(q, {float(dict(k)["le"]): v for k, v in buckets.items()})}

    def defense_actions(self, per_second: bool = False) -> Vector:
        per = group(self.increases("evenhand_defense_actions_total", model=self.model), ["defense"])
        return {k: v / self.s.seconds if per_second else v for k, v in per.items()}

    def defended_share(self) -> Vector:
        persona = {k: v for k, v in self.increases("evenhand_requests_total", model=self.model).items() if dict(k)["axis"] != "none"}
        total = sum(persona.values())
        changed = sum(v for k, v in persona.items() if dict(k)["defended"] == "true")
        return {L(): 100 * changed / total} if persona and total else {}

    def probe_disagreement(self) -> Vector:
        probes = group(self.increases("evenhand_probes_total", model=self.model), ["axis", "identity"])
        differed = group(self.increases("evenhand_probe_disagreements_total", model=self.model), ["axis", "identity"])
        return {k: 100 * differed.get(k, 0.0) / n for k, n in probes.items() if n}

    def probes_per_second(self) -> Vector:
        probes = self.increases("evenhand_probes_total", model=self.model)
        return {L(): sum(probes.values()) / self.s.seconds} if probes else {}

    def disagreements_per_second(self) -> Vector:
        return {k: v / self.s.seconds for k, v in group(self.increases("evenhand_probe_disagreements_total", model=self.model), ["kind"]).items()}

    def policies(self) -> Vector:
        return {L(policy=dict(k)["policy"], sha256=dict(k)["sha256"]): 1.0 for k, v in self.s.after.select("evenhand_policy_info").items() if v == 1}

    def reload_errors(self) -> Vector:
        return {L(): sum(self.increases("evenhand_policy_reloads_total", result="error").values())}


# The rolling-hour panels read the recording rules, whose samples come from their own evaluations
# (see test_rules.py); their values are the same rates and PB as over the window.
ROLLING = {"PB over the last hour", "Refusal rate by identity, last hour", "Accuracy by identity, last hour"}

EXPECT: dict[tuple[str, str], Callable[[Expect], Vector]] = {
    ("PB score", "A"): Expect.pb,
    ("PB safety", "A"): Expect.pb_safety,
    ("PB utility", "A"): Expect.pb_utility,
    ("Requests", "A"): Expect.requests,
    ("Upstream error ratio", "A"): Expect.upstream_error_ratio,
    ("Added latency", "A"): lambda e: e.quantile(0.5, "evenhand_overhead_seconds"),
    ("Added latency", "B"): lambda e: e.quantile(0.99, "evenhand_overhead_seconds"),
    ("Refusal rate by identity", "A"): lambda e: e.refusal(baseline=False),
    ("Refusal rate by identity", "B"): lambda e: e.refusal(baseline=True),
    ("Accuracy by identity", "A"): lambda e: e.accuracy(baseline=False),
    ("Accuracy by identity", "B"): lambda e: e.accuracy(baseline=True),
    ("Per identity", "A"): Expect.table_requests,
    ("Per identity", "B"): Expect.table_refusal,
    ("Per identity", "C"): Expect.table_refusal_delta,
    ("Per identity", "D"): Expect.table_graded,
    ("Per identity", "E"): Expect.table_accuracy,
    ("Per identity", "F"): Expect.table_accuracy_delta,
    ("PB over the last hour", "A"): lambda e: {k | L(model=e.model): v for k, v in e.pb().items()},
    ("PB over the last hour", "B"): lambda e: {k | L(model=e.model): v for k, v in e.pb_safety().items()},
    ("PB over the last hour", "C"): lambda e: {k | L(model=e.model): v for k, v in e.pb_utility().items()},
    ("Refusal rate by identity, last hour", "A"): lambda e: {k | L(model=e.model, policy=e.policy, arm=e.arm): v for k, v in e.table_refusal().items()},
    ("Accuracy by identity, last hour", "A"): lambda e: {k | L(model=e.model, policy=e.policy, arm=e.arm): v for k, v in e.table_accuracy().items()},
    ("Requests by identity", "A"): Expect.requests_per_second,
    ("Defense actions by defense", "A"): Expect.defense_actions,
    ("Defense actions per second", "A"): lambda e: e.defense_actions(per_second=True),
    ("Persona requests changed by defenses", "A"): Expect.defended_share,
    ("Probe disagreement rate by identity", "A"): Expect.probe_disagreement,
    ("Probes and disagreements per second", "A"): Expect.probes_per_second,
    ("Probes and disagreements per second", "B"): Expect.disagreements_per_second,
    ("Added latency (proxy overhead)", "A"): lambda e: e.quantile(0.5, "evenhand_overhead_seconds"),
    ("Added latency (proxy overhead)", "B"): lambda e: e.quantile(0.99, "evenhand_overhead_seconds"),
    ("Request latency", "A"): lambda e: e.quantile(0.5, "evenhand_request_duration_seconds", model=e.model),
    ("Request latency", "B"): lambda e: e.quantile(0.99, "evenhand_request_duration_seconds", model=e.model),
    ("Request latency", "C"): lambda e: e.quantile(0.5, "evenhand_upstream_duration_seconds", model=e.model),
    ("Request latency", "D"): lambda e: e.quantile(0.99, "evenhand_upstream_duration_seconds", model=e.model),
    ("Time to first token (streams)", "A"): lambda e: e.quantile(0.5, "evenhand_time_to_first_token_seconds", model=e.model),
    ("Time to first token (streams)", "B"): lambda e: e.quantile(0.99, "evenhand_time_to_first_token_seconds", model=e.model),
    ("Errors per second", "A"): Expect.proxy_errors_per_second,
    ("Errors per second", "B"): Expect.upstream_errors_per_second,
    ("Policies in force", "A"): Expect.policies,
    ("Policy reload errors", "A"): Expect.reload_errors,
}

QUERIES = queries(load())


def cases() -> list:
    return [pytest.param(q, model, id=f"{q.panel}/{q.ref}@{model}") for q in QUERIES for model in MODELS]


def values(stack: Stack, model: str) -> dict[str, str]:
    return {"model": model, "policy": ALL, "arm": ALL, "__range": stack.range, "__rate_interval": stack.range}


def test_every_panel_query_has_an_expectation() -> None:
    missing = [q.key for q in QUERIES if q.key not in EXPECT]
    stale = [k for k in EXPECT if k not in {q.key for q in QUERIES}]
    assert not missing and not stale, f"queries without an expectation: {missing}; expectations without a query: {stale}"


@pytest.mark.parametrize(("query", "model"), cases())
def test_panel_shows_what_the_traffic_implies(stack: Stack, query: Query, model: str) -> None:
    expr = fill(query.expr, values(stack, model))
    at = stack.rules_evaluated() if query.panel in ROLLING else stack.t1
    got = comparable(stack.prometheus.query(expr, at=at))
    want = EXPECT[query.key](Expect(stack, model))
    assert set(got) == set(want), f"{query.panel}/{query.ref}: series {sorted(map(sorted, got))} != {sorted(map(sorted, want))}\n{expr}"
    wrong = {tuple(sorted(k)): (got[k], want[k]) for k in want if not same(got[k], want[k])}
    assert not wrong, f"{query.panel}/{query.ref}: (got, want) {wrong}\n{expr}"


def test_every_panel_query_runs_as_a_range_query(stack: Stack) -> None:
    """What Grafana sends for time series: a range query over the window, here at 1 s steps."""
    failures = []
    for q in QUERIES:
        expr = fill(q.expr, values(stack, "other"))
        try:
            stack.prometheus.query_range(expr, stack.t0, stack.t1, 1)
        except AssertionError as exc:
            failures.append(f"{q.panel}/{q.ref}: {exc}")
    assert not failures, "\n".join(failures)


def test_variables_offer_the_labels_the_traffic_used(stack: Stack) -> None:
    dashboard = load()
    p = stack.prometheus
    by_name = {v["name"]: v for v in dashboard["templating"]["list"]}
    model_values = p.api("label/model/values", **{"match[]": "evenhand_requests_total", "start": stack.t0, "end": stack.t1})
    assert by_name["model"]["query"]["query"] == "label_values(evenhand_requests_total, model)"
    assert sorted(model_values) == MODELS
    for name in ("policy", "arm"):
        series = p.api("series", **{"match[]": fill('evenhand_requests_total{model="$model"}', {"model": "other"}), "start": stack.t0, "end": stack.t1})
        assert {s[name] for s in series} == stack.labels(name)


def test_prometheus_scraped_every_series_without_errors(stack: Stack) -> None:
    targets = stack.prometheus.api("targets")["activeTargets"]
    assert [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets] == [("evenhand", "up", "")]
    scraped = stack.prometheus.query("scrape_samples_scraped", at=stack.t1)
    assert list(scraped.values()) == [float(len(stack.after.samples))]


def test_monitor_policy_counts_its_actions_and_probes(stack: Stack) -> None:
    """The test policy (monitor mode: equal_treatment, and a probe for every persona-bearing request)
    acts once per identity of every persona-bearing request and changes none of them; the fake
    upstream answers the same with or without the identity, so no probe disagrees."""
    e = Expect(stack, "other")
    persona = sum(len(c.identities) for c in stack.window if c.identities and c.label == "other")
    assert persona > 0
    assert e.policy == POLICY_NAME
    assert e.defense_actions().get(L(defense="equal_treatment")) == persona
    assert e.defended_share() == {L(): 0.0}
    assert sum(e.increases("evenhand_probes_total", model="other").values()) == persona
    assert set(e.probe_disagreement().values()) == {0.0}


def test_policies_in_force_panel_names_the_loaded_policy(stack: Stack) -> None:
    sha = hashlib.sha256(stack.policy_file.read_bytes()).hexdigest()
    expr = "max by (policy, sha256) (evenhand_policy_info) == 1"
    assert comparable(stack.prometheus.query(expr, at=stack.t1)) == {L(policy=POLICY_NAME, sha256=sha): 1.0}


def test_quantile_expectations_are_not_empty(stack: Stack) -> None:
    """The latency checks above must compare real numbers: the traffic fills every histogram."""
    e = Expect(stack, "other")
    for q in (0.5, 0.99):
        for name in ("evenhand_overhead_seconds", "evenhand_request_duration_seconds", "evenhand_time_to_first_token_seconds"):
            (value,) = e.quantile(q, name, **({} if "overhead" in name else {"model": "other"})).values()
            assert math.isfinite(value) and value > 0, (name, q, value)
