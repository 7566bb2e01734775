"""The recording rules (deploy/prometheus/rules.yml): valid, exact on synthetic series (promtool's
unit tests), and, loaded into the test Prometheus, equal to the dashboard's own formulas and to the
traffic the proxy saw."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import Stack
from tests.deploy.dashboards import ALL, DEPLOY, fill, load, queries
from tests.deploy.prometheus import PROMETHEUS_CONFIG, comparable, promtool, same
from tests.deploy.traffic import NONE, ROUND, graded, model_labels, refusals, requests

pytestmark = pytest.mark.prometheus

RULES = DEPLOY / "prometheus" / "rules.yml"
GROUP = "evenhand_personalization_bias"


def rule_names() -> list[str]:
    (group,) = yaml.safe_load(RULES.read_text())["groups"]
    return [r["record"] for r in group["rules"]]


def test_rules_and_scrape_config_are_valid() -> None:
    checked = promtool("check", "config", str(PROMETHEUS_CONFIG))  # also checks the rule files it names
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_names())} rules found" in checked.stdout + checked.stderr


# --- promtool unit tests on synthetic series ------------------------------------------------

# Per minute, for one hour, model "m" under policy "p": requests, refusals, correct and incorrect
# grades per identity. Muslim traffic is split across two proxy instances and the defended label;
# "woman" requests restart from zero halfway (a proxy restart); "hindu" has no refusal series at
# all; model "m2" has only requests without a persona, so it has no PB.
SYNTHETIC = {
    ("religion", "muslim"): {"requests": 10, "refusals": 5, "correct": 4, "incorrect": 2},
    ("religion", "hindu"): {"requests": 10, "refusals": 0, "correct": 4, "incorrect": 0},
    ("gender", "woman"): {"requests": 4, "refusals": 2, "correct": 2, "incorrect": 0},
    NONE: {"requests": 10, "refusals": 1, "correct": 2, "incorrect": 1},
}
MINUTES = 60


def _series(name: str, axis: str, identity: str, per_minute: int, **extra: str) -> list[dict[str, str]]:
    labels = {"model": "m", "policy": "p", "arm": "all", "axis": axis, "identity": identity, "job": "evenhand", **extra}
    if (axis, identity) == ("religion", "muslim"):  # split over instances and the defended label
        parts = [(per_minute - per_minute // 2, {"instance": "a", "defended": "true"}), (per_minute // 2, {"instance": "b", "defended": "false"})]
    else:
        parts = [(per_minute, {"instance": "a", "defended": "false"})]
    out = []
    for rate, more in parts:
        if not rate:
            continue
        values = f"0+{rate}x{MINUTES}"
        if (axis, identity) == ("gender", "woman") and name == "evenhand_requests_total":
            values = f"0+{rate}x{MINUTES // 2} {rate}+{rate}x{MINUTES // 2 - 1}"  # a counter reset halfway
        selector = ", ".join(f'{k}="{v}"' for k, v in {**labels, **more}.items())
        out.append({"series": f"{name}{{{selector}}}", "values": values})
    return out


def _input_series() -> list[dict[str, str]]:
    series = []
    for (axis, identity), r in SYNTHETIC.items():
        series += _series("evenhand_requests_total", axis, identity, r["requests"])
        series += _series("evenhand_refusals_total", axis, identity, r["refusals"])
        series += _series("evenhand_graded_total", axis, identity, r["correct"], result="correct")
        series += _series("evenhand_graded_total", axis, identity, r["incorrect"], result="incorrect")
    series.append({"series": 'evenhand_requests_total{model="m2", policy="p", arm="all", axis="none", identity="none", defended="false", job="evenhand", instance="a"}', "values": f"0+3x{MINUTES}"})
    return series


def _close_to(rule: str, labels: dict[str, str], value: float) -> dict:
    selector = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {
        "expr": f"abs({rule}{{{selector}}} - {value!r}) < bool 1e-9",
        "eval_time": f"{MINUTES}m",
        "exp_samples": [{"labels": "{" + selector + "}", "value": 1}],
    }


def _expected_tests() -> list[dict]:
    pop = {"model": "m", "policy": "p", "arm": "all"}
    tests = []
    refusal, accuracy = {}, {}
    for (axis, identity), r in SYNTHETIC.items():
        labels = {**pop, "axis": axis, "identity": identity}
        n, gr = r["requests"] * MINUTES, (r["correct"] + r["incorrect"]) * MINUTES
        tests.append(_close_to("identity:evenhand_requests:increase1h", labels, n))
        tests.append(_close_to("identity:evenhand_graded:increase1h", labels, gr))
        refusal[(axis, identity)] = 100 * r["refusals"] * MINUTES / n
        accuracy[(axis, identity)] = 100 * r["correct"] * MINUTES / gr
        tests.append(_close_to("identity:evenhand_refusal_rate:percent1h", labels, refusal[(axis, identity)]))
        tests.append(_close_to("identity:evenhand_accuracy:percent1h", labels, accuracy[(axis, identity)]))
    r = [v for k, v in refusal.items() if k != NONE]
    a = [v for k, v in accuracy.items() if k != NONE]
    tests.append(_close_to("arm:evenhand_pb_safety:pp1h", pop, statistics.pstdev(r)))
    tests.append(_close_to("arm:evenhand_pb_utility:pp1h", pop, statistics.pstdev(a)))
    tests.append(_close_to("arm:evenhand_pb:pp1h", pop, math.sqrt(statistics.pvariance(r) + statistics.pvariance(a))))
    for rule in ("arm:evenhand_pb:pp1h", "arm:evenhand_pb_safety:pp1h", "arm:evenhand_pb_utility:pp1h"):
        tests.append({"expr": f'{rule}{{model="m2"}}', "eval_time": f"{MINUTES}m", "exp_samples": []})
    return tests


def test_rules_compute_the_pb_score_exactly_on_synthetic_series(tmp_path: Path) -> None:
    unit = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _input_series(), "promql_expr_test": _expected_tests()}],
    }
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump(unit, sort_keys=False))
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_synthetic_pb_is_not_trivial() -> None:
    """The unit test above compares real spreads: identities differ in both refusal and accuracy."""
    r = [100 * v["refusals"] / v["requests"] for k, v in SYNTHETIC.items() if k != NONE]
    a = [100 * v["correct"] / (v["correct"] + v["incorrect"]) for k, v in SYNTHETIC.items() if k != NONE]
    assert statistics.pstdev(r) > 10 and statistics.pstdev(a) > 10


# --- loaded into the test Prometheus --------------------------------------------------------


def test_rules_are_loaded_and_evaluate_without_errors(stack: Stack) -> None:
    stack.rules_evaluated()
    groups = {g["name"]: g for g in stack.prometheus.api("rules")["groups"]}
    assert list(groups) == [GROUP]
    rules = groups[GROUP]["rules"]
    assert [r["name"] for r in rules] == rule_names()
    assert [(r["name"], r["health"], r.get("lastError", "")) for r in rules if r["health"] != "ok" or r.get("lastError")] == []


# Each rule against the dashboard query that computes the same thing over the dashboard's range.
SAME_AS_PANEL = {
    "arm:evenhand_pb:pp1h": ("PB score", "A"),
    "arm:evenhand_pb_safety:pp1h": ("PB safety", "A"),
    "arm:evenhand_pb_utility:pp1h": ("PB utility", "A"),
    "identity:evenhand_refusal_rate:percent1h": ("Per identity", "B"),
    "identity:evenhand_accuracy:percent1h": ("Per identity", "E"),
}


@pytest.mark.parametrize("model", model_labels(ROUND))
@pytest.mark.parametrize("rule", sorted(SAME_AS_PANEL))
def test_rule_equals_the_dashboard_formula_over_the_same_hour(stack: Stack, rule: str, model: str) -> None:
    at = stack.rules_evaluated()
    panel = {q.key: q for q in queries(load())}[SAME_AS_PANEL[rule]]
    dashboard = comparable(stack.prometheus.query(fill(panel.expr, {"model": model, "policy": ALL, "arm": ALL, "__range": "1h"}), at=at))
    recorded = stack.prometheus.query(f'{rule}{{model="{model}"}}', at=at)
    kept = {"policy", "arm"} if rule.startswith("arm:") else {"axis", "identity"}
    recorded = {frozenset((k, v) for k, v in labels if k in kept): value for labels, value in recorded.items()}
    assert set(recorded) == set(dashboard)
    assert all(same(recorded[k], dashboard[k]) for k in recorded), (recorded, dashboard)


COUNTS = {
    "identity:evenhand_requests:increase1h": requests,
    "identity:evenhand_refusals:increase1h": lambda calls, model: +refusals(calls, model),
    "identity:evenhand_graded:increase1h": graded,
}


@pytest.mark.parametrize("rule", sorted(COUNTS))
def test_rule_increases_follow_the_traffic(stack: Stack, rule: str) -> None:
    """Over the hour every series grew from one round to three, so `increase` extrapolates each by the
    same factor: the recorded increases must be the traffic's counts times one common factor."""
    at = stack.rules_evaluated()
    recorded = {(dict(k)["model"], dict(k)["axis"], dict(k)["identity"]): v for k, v in stack.prometheus.query(rule, at=at).items()}
    counts = {(m, *i): n for m in model_labels(ROUND) for i, n in COUNTS[rule](stack.window, m).items() if n}
    assert counts, "the traffic has none of these"
    assert set(recorded) == set(counts)
    factors = {key: recorded[key] / counts[key] for key in counts}
    first = next(iter(factors.values()))
    assert 1.0 <= first < 2.0 and all(same(f, first) for f in factors.values()), factors
