"""Upstream kinds: litellm's provider path, for real, against the loopback upstream."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.servers import Server, start_proxy_with_config


@pytest.fixture(scope="module")
def litellm_proxy(fake_upstream: Server, tmp_path_factory) -> Iterator[Server]:
    config = {
        "upstreams": {"via-litellm": {"kind": "litellm", "base_url": f"{fake_upstream.url}/v1", "api_key": "sk-upstream-secret"}},
        "models": {
            "lite": {"upstream": "via-litellm", "upstream_model": "openai/fake-model"},
            "lite-limited": {"upstream": "via-litellm", "upstream_model": "openai/fake-status-429"},
        },
    }
    path = tmp_path_factory.mktemp("cfg") / "litellm.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def test_litellm_completion_and_stream(litellm_proxy, upstream_log, openai_schema):
    client = openai.OpenAI(base_url=f"{litellm_proxy.url}/v1", api_key="unused", max_retries=0)
    completion = client.chat.completions.create(model="lite", messages=[{"role": "user", "content": "Hi"}], temperature=0.5)
    assert completion.choices[0].message.content == "Hello from the fake upstream."
    received = upstream_log()[-1]
    assert received["body"]["model"] == "fake-model"
    assert received["body"]["temperature"] == 0.5
    assert received["headers"]["authorization"] == "Bearer sk-upstream-secret"

    stream = client.chat.completions.create(model="lite", messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello from the fake upstream."


def test_litellm_errors_keep_their_status(litellm_proxy, openai_schema):
    response = httpx.post(f"{litellm_proxy.url}/v1/chat/completions", json={"model": "lite-limited", "messages": [{"role": "user", "content": "Hi"}]}, timeout=60)
    assert response.status_code == 429
    openai_schema("error_response").validate(response.json())
    assert "sk-upstream-secret" not in response.text
