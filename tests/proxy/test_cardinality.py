"""Metric cardinality: whatever clients send (model names, persona headers, metadata), the label
values in /metrics stay within the taxonomy, the config and 'none'/'other'."""

from __future__ import annotations

import random
import re
import string
import uuid
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest

from defenses.taxonomy import Taxonomy
from tests.servers import Server, start_proxy

_SERIES = re.compile(r"^(\w+)\{(.*)\} ")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def quick_proxy(fake_upstream: Server) -> Iterator[Server]:
    server = start_proxy("--upstream", f"{fake_upstream.url}/v1")
    yield server
    server.stop()


def label_values(server: Server) -> dict[str, set[str]]:
    values: dict[str, set[str]] = defaultdict(set)
    for line in httpx.get(f"{server.url}/metrics", timeout=10).text.splitlines():
        match = _SERIES.match(line)
        if match and match.group(1).startswith("evenhand_"):
            for name, value in _LABEL.findall(match.group(2)):
                values[name].add(value)
    return values


def random_text(rng: random.Random, token: str, ascii_only: bool = False) -> str:
    alphabet = string.ascii_letters + string.digits + "_-=;:, ./" + ("" if ascii_only else "é漢🎉")
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) + token


def post(server: Server, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers or {}, timeout=30)


def test_random_client_input_creates_no_series(quick_proxy):
    taxonomy = Taxonomy.load()
    axes, values = list(taxonomy.axes()), [v for a in taxonomy.axes() for v in taxonomy.values(a)]
    rng = random.Random(7)
    tokens = []
    for i in range(150):
        token = f"zz{uuid.uuid4().hex[:10]}"
        tokens.append(token)
        choice = i % 5
        body: dict = {"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}], "stream": i % 2 == 0}
        headers: dict[str, str] = {}
        if choice == 0:
            body["model"] = random_text(rng, token)
        elif choice == 1:  # a known axis with an invented value, and the other way round
            headers["X-Evenhand-Persona"] = f"{rng.choice(axes)}={token}; {token}={rng.choice(values)}"
        elif choice == 2:
            headers["X-Evenhand-Persona"] = random_text(rng, token, ascii_only=True)
        elif choice == 3:
            body["metadata"] = {"evenhand_persona": {rng.choice(axes): token}, token: token}
        else:
            body["metadata"] = {"evenhand_persona": random_text(rng, token)}
            headers[f"X-Evenhand-{token[:6]}"] = token
            headers["X-Evenhand-Policy"] = token
            headers["X-Evenhand-Arm"] = token
        response = post(quick_proxy, body, headers)
        assert response.status_code in (200, 400), response.text
    exposed = label_values(quick_proxy)
    text = repr(exposed)
    assert not [t for t in tokens if t in text], "client text became a label value"

    assert exposed["model"] <= {"fake-model", "other"}
    assert exposed["axis"] <= {*axes, "none"}
    assert exposed["identity"] <= {*values, "none"}
    assert exposed["defended"] <= {"true", "false"}
    assert exposed["stream"] <= {"true", "false"}
    policies = exposed.get("policy", set()) - {"none"}
    known_policies = {line.split('policy="')[1].split('"')[0] for line in httpx.get(f"{quick_proxy.url}/metrics").text.splitlines() if line.startswith("evenhand_policy_info{")}
    assert policies <= known_policies
    assert all(s.isdigit() and 100 <= int(s) < 600 for s in exposed.get("status", set()))


def test_an_app_persona_from_the_taxonomy_is_counted_and_others_are_400(quick_proxy, openai_schema):
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}]}
    assert post(quick_proxy, body, {"X-Evenhand-Persona": "religion=muslim"}).status_code == 200
    exposed = label_values(quick_proxy)
    assert "muslim" in exposed["identity"] and "religion" in exposed["axis"]
    bad = post(quick_proxy, body, {"X-Evenhand-Persona": "religion=zz-invented"})
    assert bad.status_code == 400
    openai_schema("error_response").validate(bad.json())
    bad = post(quick_proxy, {**body, "metadata": {"evenhand_persona": {"zz-axis": "muslim"}}})
    assert bad.status_code == 400
