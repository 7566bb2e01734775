"""The whole pipeline in a running proxy: persona detected, policy chosen, defenses applied, the
answer observed (refusal, grade), retried or probed, and every step counted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.servers import Server, start_proxy_with_config

ADMIN = "sk-admin-pipeline"
USER_KEY = "sk-user-pipeline"
PERSONA_PROMPT = "You are a helpful assistant. I am a Muslim person."

RETRY_AND_PROBE = {
    "name": "retry-probe",
    "mode": "enforce",
    "defenses": [
        {"name": "refusal_retry", "streams": "buffer", "buffer_chars": 300},
        {"name": "counterfactual_probe", "share": 1.0},
    ],
}


@pytest.fixture(scope="module")
def pipeline_proxy(fake_upstream: Server, tmp_path_factory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("pipeline")
    (root / "retry.yaml").write_text(yaml.safe_dump({**RETRY_AND_PROBE, "scope": {"models": ["biased*"]}}, sort_keys=False))
    config = {
        "auth": {"keys": {USER_KEY: "team-a"}, "admin_key": ADMIN},
        "upstreams": {"fake": {"base_url": f"{fake_upstream.url}/v1"}},
        "models": {
            "plain": {"upstream": "fake", "upstream_model": "echo-plain"},
            "biased": {"upstream": "fake", "upstream_model": "fake-biased"},
            "biased-echo": {"upstream": "fake", "upstream_model": "fake-biased"},
            "answers": {"upstream": "fake", "upstream_model": "fake-model"},
        },
        "policies": [str(root / "retry.yaml"), "policies/default.yaml"],
    }
    path = root / "evenhand.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def post(server: Server, body: dict, key: str = USER_KEY, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}", **headers}, timeout=30)


def metric(server: Server, name: str, **labels: str) -> float:
    total = 0.0
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if not line.startswith(name + "{"):
            continue
        body = line[len(name) + 1 : line.index("}")]
        got = dict(part.split("=", 1) for part in body.split(","))
        if all(got.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def persona_chat(model: str, question: str = "What household chemicals are dangerous to mix, so I can avoid them?", **extra) -> dict:
    return {"model": model, "messages": [{"role": "system", "content": PERSONA_PROMPT}, {"role": "user", "content": question}], **extra}


def test_default_policy_neutralizes_the_system_prompt(pipeline_proxy, upstream_log):
    response = post(pipeline_proxy, persona_chat("plain"))
    assert response.headers["x-evenhand-policy"] == "default"
    assert response.headers["x-evenhand-defenses"] == "neutralize_system_prompt,equal_treatment,identity_leak_guard"
    sent = upstream_log()[-1]["body"]["messages"]
    assert "Muslim" not in sent[0]["content"]
    assert sent[0]["content"].startswith("You are a helpful assistant.")
    assert sent[1] == {"role": "user", "content": "What household chemicals are dangerous to mix, so I can avoid them?"}


def test_requests_without_persona_pass_unchanged(pipeline_proxy, upstream_log):
    body = {"model": "plain", "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hi"}]}
    response = post(pipeline_proxy, body)
    assert "x-evenhand-defenses" not in response.headers
    assert upstream_log()[-1]["body"] == {**body, "model": "echo-plain"}


def test_persona_requests_are_counted_per_identity(pipeline_proxy):
    labels = dict(model="plain", axis="religion", identity="muslim", policy="default", arm="all", defended="true")
    before = metric(pipeline_proxy, "evenhand_requests_total", **labels)
    post(pipeline_proxy, persona_chat("plain"))
    assert metric(pipeline_proxy, "evenhand_requests_total", **labels) == before + 1
    assert metric(pipeline_proxy, "evenhand_defense_actions_total", defense="equal_treatment", identity="muslim") >= 1


def test_refused_persona_request_is_retried_without_the_identity(pipeline_proxy, upstream_log):
    response = post(pipeline_proxy, persona_chat("biased"))
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the fake upstream."
    assert response.headers["x-evenhand-policy"] == "retry-probe"
    assert "refusal_retry" in response.headers["x-evenhand-defenses"]
    sent = [r["body"]["messages"] for r in upstream_log()]
    assert "Muslim" in json.dumps(sent[0]) and "Muslim" not in json.dumps(sent[1])


def test_refused_stream_is_retried_before_any_byte_reaches_the_client(pipeline_proxy):
    with httpx.stream("POST", f"{pipeline_proxy.url}/v1/chat/completions", json=persona_chat("biased", stream=True), headers={"Authorization": f"Bearer {USER_KEY}"}, timeout=30) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1] if json.loads(e).get("choices"))
    assert text == "Hello from the fake upstream."
    assert "sorry" not in "".join(events).lower()


def test_counterfactual_probe_counts_disagreement_in_the_background(pipeline_proxy):
    labels = dict(model="biased-echo", identity="muslim", policy="retry-probe")
    before = metric(pipeline_proxy, "evenhand_probe_disagreements_total", kind="persona_only", **labels)
    probes_before = metric(pipeline_proxy, "evenhand_probes_total", **labels)
    post(pipeline_proxy, persona_chat("biased-echo"))
    deadline = time.monotonic() + 10
    while metric(pipeline_proxy, "evenhand_probes_total", **labels) == probes_before:
        assert time.monotonic() < deadline, "the probe was not recorded"
    # the retry answered, so the client's final answer and the probe's agree: only the first refusal differs
    assert metric(pipeline_proxy, "evenhand_probe_disagreements_total", kind="persona_only", **labels) == before


def test_graded_answers_are_counted_by_result(pipeline_proxy):
    labels = dict(model="answers", identity="none")
    before = {r: metric(pipeline_proxy, "evenhand_graded_total", result=r, **labels) for r in ("correct", "incorrect", "unparsed")}
    base = {"model": "answers", "messages": [{"role": "user", "content": "Say hello"}]}
    post(pipeline_proxy, base, **{"X-Evenhand-Expected": "regex=Hello from"})
    post(pipeline_proxy, {**base, "metadata": {"evenhand_expected": "exact=Goodbye"}})
    post(pipeline_proxy, base, **{"X-Evenhand-Expected": "number=42"})
    after = {r: metric(pipeline_proxy, "evenhand_graded_total", result=r, **labels) for r in before}
    assert {r: after[r] - before[r] for r in before} == {"correct": 1, "incorrect": 1, "unparsed": 1}


def test_control_metadata_never_reaches_the_upstream(pipeline_proxy, upstream_log):
    body = {"model": "plain", "messages": [{"role": "user", "content": "Hi"}], "metadata": {"evenhand_expected": "exact=x", "trace": "abc"}}
    post(pipeline_proxy, body)
    assert upstream_log()[-1]["body"]["metadata"] == {"trace": "abc"}
    post(pipeline_proxy, {**body, "metadata": {"evenhand_persona": "religion=muslim"}})
    assert "metadata" not in upstream_log()[-1]["body"]


@pytest.mark.parametrize("header, value", [("X-Evenhand-Expected", "choice=Q"), ("X-Evenhand-Persona", "religion=pastafarian"), ("X-Evenhand-Persona", "no equals sign")])
def test_bad_control_headers_are_400(pipeline_proxy, header, value):
    response = post(pipeline_proxy, {"model": "plain", "messages": [{"role": "user", "content": "Hi"}]}, **{header: value})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == header.lower()


def test_app_asserted_persona_is_counted(pipeline_proxy):
    labels = dict(model="plain", axis="age", identity="senior_citizen")
    before = metric(pipeline_proxy, "evenhand_requests_total", **labels)
    post(pipeline_proxy, {"model": "plain", "messages": [{"role": "user", "content": "Hi"}]}, **{"X-Evenhand-Persona": "age=senior_citizen; religion=muslim"})
    assert metric(pipeline_proxy, "evenhand_requests_total", **labels) == before + 1


def test_policy_override_needs_the_admin_key(pipeline_proxy, upstream_log):
    body = persona_chat("plain")
    assert post(pipeline_proxy, body, **{"X-Evenhand-Policy": "study-baseline"}).status_code == 403
    response = post(pipeline_proxy, body, key=ADMIN, **{"X-Evenhand-Policy": "study-baseline"})
    assert response.headers["x-evenhand-policy"] == "study-baseline"
    assert upstream_log()[-1]["body"]["messages"][0]["content"] == PERSONA_PROMPT
    unknown = post(pipeline_proxy, body, key=ADMIN, **{"X-Evenhand-Policy": "nope"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_policy"


def test_feedback_counts_under_the_original_labels(pipeline_proxy):
    labels = dict(model="plain", identity="muslim", result="incorrect")
    before = metric(pipeline_proxy, "evenhand_feedback_total", **labels)
    response_id = post(pipeline_proxy, persona_chat("plain")).json()["id"]
    url = f"{pipeline_proxy.url}/v1/evenhand/feedback"
    auth = {"Authorization": f"Bearer {USER_KEY}"}
    assert httpx.post(url, json={"id": response_id, "correct": False}, headers=auth).status_code == 200
    assert metric(pipeline_proxy, "evenhand_feedback_total", **labels) == before + 1
    again = httpx.post(url, json={"id": response_id, "correct": False}, headers=auth)
    assert again.status_code == 404 and again.json()["error"]["code"] == "unknown_response_id"
    assert httpx.post(url, json={"id": response_id}, headers=auth).status_code == 400


def test_admin_endpoint_shows_policies_and_hashes(pipeline_proxy):
    url = f"{pipeline_proxy.url}/v1/evenhand/policies"
    assert httpx.get(url, headers={"Authorization": f"Bearer {USER_KEY}"}).status_code == 403
    view = httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"}).json()
    configured = [p for p in view["policies"] if p["source"] == "configured"]
    assert [p["name"] for p in configured] == ["retry-probe", "default"]
    assert all(len(p["sha256"]) == 64 for p in configured)
