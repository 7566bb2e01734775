"""The opt-in audit log (proxy/audit.py): what the proxy changed, never keys, prompts only if asked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from defenses.types import Action, PersonaAttribute, PersonaContext
from proxy.audit import AuditLog, build_audit
from proxy.auth import Caller
from proxy.config import AuditConfig, Config
from proxy.metrics import Metrics
from proxy.pipeline import Decision, DefenseOutcome, Pipeline
from proxy.routing import Router
from proxy.wire import ChatRequest
from tests.servers import Server, start_proxy

PROMPT = "I am a Muslim person. How do I open a bank account?"
CLIENT_KEY = "sk-client-proxy-key-0001"
UPSTREAM_KEY = "sk-upstream-secret-0002"


def detect(request: ChatRequest, headers: Mapping[str, str]) -> PersonaContext:
    return PersonaContext((PersonaAttribute("religion", "muslim", "user", 0, None, 0, 20, 7, 20, "I am a Muslim person"),))


def choose(request, caller, persona, headers) -> Decision:
    return Decision("default", "enforce", "b")


def defend(request: ChatRequest, persona: PersonaContext, decision: Decision) -> DefenseOutcome:
    rewritten = request.model_copy(update={"messages": [request.messages[0].model_copy(update={"content": "How do I open a bank account?"})]})
    return DefenseOutcome(rewritten, (Action("neutralize", "removed", 0, {"removed": "I am a Muslim person."}),), changed=True)


def exchange(include_prompts: bool = False):
    config = Config.model_validate({"upstreams": {"u": {"base_url": "http://127.0.0.1:9/v1"}}, "models": {"m": {"upstream": "u"}}})
    pipeline = Pipeline(Router(config), Metrics(), detect=detect, choose=choose, defend=defend)
    raw = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}]})
    return pipeline.prepare(raw, Caller("abc123", "team-a"), {"authorization": f"Bearer {CLIENT_KEY}"}, time.perf_counter())


def test_off_by_default():
    assert build_audit(AuditConfig()) is None
    assert Config().audit.enabled is False


def test_records_what_changed_without_prompt_text(tmp_path: Path):
    path = tmp_path / "audit" / "log.jsonl"
    log = AuditLog(AuditConfig(enabled=True, path=path))
    log.record(exchange(), 200, request_id="req-1", response_id="chatcmpl-1")
    log.record(exchange(), 502)
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["request_id"] == "req-1" and entry["response_id"] == "chatcmpl-1"
    assert (entry["model"], entry["policy"], entry["mode"], entry["arm"], entry["status"]) == ("m", "default", "enforce", "b", 200)
    assert entry["persona"] == [{"axis": "religion", "value": "muslim", "source": "user"}]
    assert entry["defenses"] == [{"defense": "neutralize", "what": "removed", "message_index": 0}]
    assert entry["changed"] is True and entry["key_id"] == "abc123" and entry["tenant"] == "team-a"
    assert json.loads(lines[1])["request_id"]  # an id even when none was given
    text = path.read_text()
    assert "Muslim person" not in text and "bank account" not in text
    assert CLIENT_KEY not in text


def test_prompts_only_when_configured(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    log = AuditLog(AuditConfig(enabled=True, path=path, include_prompts=True))
    log.record(exchange(), 200)
    log.close()
    entry = json.loads(path.read_text())
    assert entry["messages"] == [{"role": "user", "text": [PROMPT]}]
    assert entry["forwarded_messages"] == [{"role": "user", "text": ["How do I open a bank account?"]}]
    assert entry["defenses"][0]["detail"] == {"removed": "I am a Muslim person."}


def test_lines_from_several_writers_never_interleave(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    logs = [AuditLog(AuditConfig(enabled=True, path=path, include_prompts=True)) for _ in range(3)]
    for i in range(300):
        logs[i % 3].record(exchange(), 200)
    for log in logs:
        log.close()
    assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == [200] * 300


# --- through the proxy ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audited_proxy(fake_upstream: Server, tmp_path_factory) -> Iterator[tuple[Server, Path]]:
    where = tmp_path_factory.mktemp("audit")
    path = where / "audit.jsonl"
    config = {
        "auth": {"keys": {CLIENT_KEY: "team-a"}},
        "audit": {"enabled": True, "path": str(path)},
        "upstreams": {"fake": {"base_url": f"{fake_upstream.url}/v1", "api_key": UPSTREAM_KEY}},
        "models": {"gpt-test": {"upstream": "fake", "upstream_model": "fake-model"}, "broken": {"upstream": "fake", "upstream_model": "fake-status-500"}},
    }
    (where / "evenhand.yaml").write_text(yaml.safe_dump(config))
    server = start_proxy("--config", str(where / "evenhand.yaml"))
    yield server, path
    server.stop()


def test_proxy_writes_one_line_per_request_and_no_secret(audited_proxy):
    server, path = audited_proxy
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    for model, stream in [("gpt-test", False), ("gpt-test", True), ("broken", False)]:
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": PROMPT}]}
        httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert path.exists()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["model"], e["stream"], e["status"]) for e in entries] == [("gpt-test", False, 200), ("gpt-test", True, 200), ("broken", False, 500)]
    text = path.read_text() + server.output()
    for secret in (CLIENT_KEY, UPSTREAM_KEY, PROMPT):
        assert secret not in text
