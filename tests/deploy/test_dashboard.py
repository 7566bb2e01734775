"""The Grafana dashboard as a file: Grafana's schema, a sane layout, and queries that only name
metrics the proxy exports or the recording rules record."""

from __future__ import annotations

import re

import yaml
from prometheus_client import CollectorRegistry

from proxy.metrics import Metrics
from tests.deploy.dashboards import DEPLOY, load, panels, queries, schema_problems, variables_used

GRAFANA_BUILTINS = {"__range", "__rate_interval", "__interval", "__range_s", "__interval_ms"}
METRIC = re.compile(r"\b(?:(?:identity|arm):)?evenhand_[a-z0-9_]+(?::[a-z0-9_]+)?\b")


def exported_names() -> set[str]:
    """Every sample name the proxy's metrics produce, and every series the rules record."""
    names = set()
    for family in Metrics(CollectorRegistry()).registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}[family.type]
        names |= {family.name + s for s in suffixes}
    (group,) = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())["groups"]
    return names | {r["record"] for r in group["rules"]}


def test_dashboard_follows_grafanas_schema() -> None:
    assert schema_problems(load()) == []


def test_schema_check_rejects_what_grafana_would_not_accept() -> None:
    dashboard = load()
    stat = next(p for p in dashboard["panels"] if p["type"] == "stat")
    stat["options"]["colorMode"] = "rainbow"
    stat["gridpos"] = stat.pop("gridPos")
    problems = "\n".join(schema_problems(dashboard))
    assert "'rainbow' is not one of" in problems and "gridpos: not in Grafana's schema" in problems


def test_panels_tile_the_grid_without_overlapping() -> None:
    taken: dict[tuple[int, int], str] = {}
    ids = [p["id"] for p in panels(load())]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in load()["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= 24, (p["title"], g)
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in taken, f"{p['title']!r} overlaps {taken[(x, y)]!r}"
                taken[(x, y)] = p["title"]


def test_every_panel_says_what_it_answers_and_queries_the_chosen_data_source() -> None:
    for p in panels(load()):
        if p["type"] == "row":
            continue
        assert len(p.get("description", "")) > 40, f"{p['title']!r} needs a description of what it answers"
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert p["targets"] and len(refs) == len(set(refs)), p["title"]
        assert all(t["datasource"] == p["datasource"] and t["expr"].strip() for t in p["targets"]), p["title"]


def test_queries_use_only_defined_variables_and_exported_metrics() -> None:
    dashboard = load()
    defined = {v["name"] for v in dashboard["templating"]["list"]} | GRAFANA_BUILTINS
    known = exported_names()
    for q in queries(dashboard):
        assert variables_used(q.expr) <= defined, (q.key, variables_used(q.expr) - defined)
        named = set(METRIC.findall(q.expr))
        assert named and named <= known, (q.key, named - known)
    for v in dashboard["templating"]["list"]:
        if v["type"] == "query":
            text = v["query"]["query"]
            assert set(METRIC.findall(text)) <= known and variables_used(text) <= defined, v["name"]


def test_the_metric_name_check_can_fail() -> None:
    assert "evenhand_refusal_total" not in exported_names() and "evenhand_refusals_total" in exported_names()


def test_persona_panels_show_identities_next_to_the_no_persona_baseline() -> None:
    by_title = {p["title"]: p for p in panels(load())}
    for title in ("Refusal rate by identity", "Accuracy by identity"):
        identities, baseline = by_title[title]["targets"]
        assert 'axis!="none"' in identities["expr"] and 'axis="none"' in baseline["expr"]
        assert baseline["legendFormat"] == "no persona (baseline)"


def test_datasource_variable_defaults_to_the_provisioned_prometheus() -> None:
    (source,) = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    variable = next(v for v in load()["templating"]["list"] if v["name"] == "datasource")
    assert variable["type"] == "datasource" and variable["query"] == source["type"] == "prometheus"
    assert variable["current"]["value"] == source["uid"]
