"""`evenhand eval` end to end through the proxy: llama.cpp serving SmolLM2-135M-Instruct behind a
proxy with an admin key, each arm's policy chosen per request and applied by the proxy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from evaluation import datasets as ds
from evaluation.command import run
from evaluation.personas import Persona
from evaluation.runner import Arm, ClientConfig, Job
from tests.servers import Server, start_proxy_with_config

pytestmark = pytest.mark.model

ADMIN = "sk-admin-eval-e2e"
PERSONAS = ["a Muslim person", "a senior citizen"]
MAX_TOKENS = {"unsafe": 24, "benign": 24, "graded": 48}
ARMS = [Arm("study-baseline", "study-baseline", False), Arm("default", "default", True)]


@pytest.fixture(scope="module")
def eval_proxy(llama_url: str, tmp_path_factory) -> Iterator[Server]:
    config = {
        "auth": {"admin_key": ADMIN},
        "upstreams": {"local": {"base_url": llama_url}},
        "models": {"smollm2": {"upstream": "local"}},
    }
    path = tmp_path_factory.mktemp("eval-proxy") / "evenhand.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def counted(proxy: Server, metric: str, by: str, **labels: str) -> dict[str, float]:
    """Sum of a counter's samples matching `labels`, per value of the label `by`."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{proxy.url}/metrics").text):
        for s in family.samples:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                out[s.labels[by]] = out.get(s.labels[by], 0.0) + s.value
    return out


def argv(proxy: Server, out: Path) -> list[str]:
    return [
        "--target", f"{proxy.url}/v1", "--model", "smollm2", "--admin-key", ADMIN, "--policy", "default",
        "--datasets", "probes", "--personas", *PERSONAS, "--limit", "2",
        "--max-tokens-safety", "24", "--max-tokens-utility", "48", "--concurrency", "2",
        "--bootstrap", "200", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def test_two_arms_through_the_proxy_with_a_real_model(eval_proxy: Server, tmp_path: Path):
    out = tmp_path / "run"
    items = ds.sample(ds.load_probes(), 2, 0)
    per_arm = len(items) * (1 + len(PERSONAS))
    sent_before = counted(eval_proxy, "evenhand_requests_total", "policy")
    defended_before = counted(eval_proxy, "evenhand_defense_actions_total", "policy", defense="neutralize_system_prompt")

    assert run(argv(eval_proxy, out)) == 0

    sent = counted(eval_proxy, "evenhand_requests_total", "policy")
    for arm in ARMS:
        assert sent.get(arm.name, 0) - sent_before.get(arm.name, 0) == per_arm
    # the default arm was defended by the proxy (identity taken out of the system prompt), the baseline not
    defended = counted(eval_proxy, "evenhand_defense_actions_total", "policy", defense="neutralize_system_prompt")
    assert defended.get("default", 0) - defended_before.get("default", 0) > 0
    assert defended.get("study-baseline", 0) == defended_before.get("study-baseline", 0)

    results = json.loads((out / "results.json").read_text())
    assert [a["name"] for a in results["arms"]] == ["study-baseline", "default"]
    assert results["meta"]["requests"] == 2 * per_arm and results["meta"]["errors"] == 0
    for arm in ARMS:
        scores = results["scores"]["arms"][arm.name]
        assert sorted(scores["identities"]) == sorted(PERSONAS)
        for row in [scores["no_persona"], *scores["identities"].values()]:
            assert all(0 <= row[m] <= 100 for m in ("safety", "utility", "over_refusal"))
        assert scores["pb"]["value"] >= 0
    assert "default" in results["scores"]["changes"]

    # every answer carried the x-evenhand-policy of its own arm
    records = {row["key"]: row["record"] for row in map(json.loads, (out / "cache.jsonl").read_text().splitlines())}
    config = ClientConfig(target="unused", model="smollm2", max_tokens=MAX_TOKENS)
    personas = [None, *(Persona(results["scores"]["arms"]["default"]["identities"][p]["axis"], p) for p in PERSONAS)]
    for arm in ARMS:
        applied = [records[config.key(Job(item, persona, arm))]["policy"] for item in items for persona in personas]
        assert applied == [arm.policy] * per_arm

    html = (out / "report.html").read_text()
    assert "PB with policy default" in html and all(p in html for p in PERSONAS)
    # self-contained: nothing fetched from anywhere when opened
    external = r"<script|<link|<iframe|<img|@import|url\(\s*['\"]?(?!#)|(?:src|href)\s*=\s*['\"]?(?!#)"
    assert not re.search(external, html, re.IGNORECASE)

    # a second run answers from the cache: the proxy sees no request, the scores are the same
    assert run(argv(eval_proxy, out)) == 0
    assert counted(eval_proxy, "evenhand_requests_total", "policy") == sent
    again = json.loads((out / "results.json").read_text())
    assert again["meta"]["cached"] == 2 * per_arm
    assert again["scores"] == results["scores"]
