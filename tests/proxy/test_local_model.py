"""End to end with a real model: llama.cpp's server running SmolLM2-135M-Instruct behind the proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from proxy.local_model import smollm2_gguf
from tests.servers import Server, start_llama_server, start_proxy_with_config

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def llama() -> Iterator[Server]:
    server = start_llama_server(smollm2_gguf())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def model_proxy(llama: Server, tmp_path_factory) -> Iterator[Server]:
    config = {"upstreams": {"local": {"base_url": f"{llama.url}/v1"}}, "models": {"smollm2": {"upstream": "local"}}}
    path = tmp_path_factory.mktemp("cfg") / "model.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


@pytest.fixture()
def client(model_proxy: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{model_proxy.url}/v1", api_key="unused", max_retries=0, timeout=120)


def test_completion(client):
    completion = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=24, temperature=0)
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content.strip()
    assert completion.usage.completion_tokens > 0


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Count to three."}], max_tokens=16, temperature=0, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    # llama.cpp sends no usage chunk; the client asked for one and gets it
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_stream_matches_non_stream_at_temperature_zero(client):
    messages = [{"role": "user", "content": "Name a color."}]
    plain = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=12, temperature=0, seed=1)
    stream = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=12, temperature=0, seed=1, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == plain.choices[0].message.content


def test_unknown_model_is_404_not_the_upstreams_200(model_proxy):
    response = httpx.post(f"{model_proxy.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_malformed_message_is_400_not_the_upstreams_500(model_proxy):
    response = httpx.post(f"{model_proxy.url}/v1/chat/completions", json={"model": "smollm2", "messages": [{"role": "user"}]})
    assert response.status_code == 400
    assert json.loads(response.text)["error"]["type"] == "invalid_request_error"
