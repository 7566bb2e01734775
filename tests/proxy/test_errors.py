"""Every error a client can meet comes back with the stated status and an OpenAI-style body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.servers import Server, free_port, start_proxy_with_config

KEY = "sk-evenhand-test-key"


@pytest.fixture(scope="module")
def configured_proxy(fake_upstream: Server, tmp_path_factory) -> Iterator[Server]:
    """A proxy with a model table, proxy keys, a small body limit and a short read timeout."""
    config = {
        "server": {"max_body_bytes": 64 * 1024},
        "auth": {"keys": {KEY: "team-a"}},
        "upstreams": {
            "fake": {"base_url": f"{fake_upstream.url}/v1", "timeouts": {"connect": 2, "read": 1.0}},
            "down": {"base_url": f"http://127.0.0.1:{free_port()}/v1"},
        },
        "models": {
            "gpt-test": {"upstream": "fake", "upstream_model": "fake-model"},
            "slow": {"upstream": "fake", "upstream_model": "fake-slow-3"},
            "limited": {"upstream": "fake", "upstream_model": "fake-status-429"},
            "broken": {"upstream": "fake", "upstream_model": "fake-status-500"},
            "malformed": {"upstream": "fake", "upstream_model": "fake-malformed"},
            "unreachable": {"upstream": "down"},
        },
    }
    path: Path = tmp_path_factory.mktemp("cfg") / "evenhand.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def post(server: Server, body, *, key: str | None = KEY, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))
    if not isinstance(body, dict):
        return httpx.post(f"{server.url}/v1/chat/completions", content=body, headers=headers, timeout=30, **kwargs)
    return httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=30, **kwargs)


def assert_error(response: httpx.Response, status: int, code: str | None, validator) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    validator.validate(body)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture()
def error_schema(openai_schema):
    return openai_schema("error_response")


def chat(model: str = "gpt-test", **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}


def test_model_table_rewrites_the_upstream_name(configured_proxy, upstream_log):
    response = post(configured_proxy, chat())
    assert response.status_code == 200
    assert upstream_log()[-1]["body"]["model"] == "fake-model"


def test_missing_or_wrong_key_is_401(configured_proxy, error_schema):
    assert_error(post(configured_proxy, chat(), key=None), 401, "invalid_api_key", error_schema)
    assert_error(post(configured_proxy, chat(), key="sk-wrong"), 401, "invalid_api_key", error_schema)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{configured_proxy.url}/v1", api_key="sk-wrong", max_retries=0).chat.completions.create(**chat())


def test_upstream_never_sees_the_clients_key(configured_proxy, upstream_log):
    post(configured_proxy, chat())
    assert "authorization" not in upstream_log()[-1]["headers"]


@pytest.mark.parametrize(
    "body, param",
    [
        (b'{"model": "gpt-test", "messages": [', None),
        (b"[1, 2, 3]", None),
        (b"", None),
        (b'{"messages": [{"role": "user", "content": "Hi"}]}', "model"),
        (b'{"model": "gpt-test"}', "messages"),
        (b'{"model": "gpt-test", "messages": []}', "messages"),
        (b'{"model": "gpt-test", "messages": [{"content": "no role"}]}', "messages.0.role"),
        (b'{"model": "gpt-test", "messages": [{"role": "user", "content": 42}]}', None),
        (b'{"model": "gpt-test", "messages": "hello"}', "messages"),
        (b'{"model": "gpt-test", "messages": [{"role": "user", "content": "Hi"}], "stream": "yes"}', "stream"),
        ('{"model": "gpt-test", "messages": [{"role": "user", "content": "\udcff"}]}'.encode("utf-8", "surrogatepass"), None),
    ],
)
def test_malformed_or_invalid_bodies_are_400(configured_proxy, error_schema, body, param):
    error = assert_error(post(configured_proxy, body, headers={"Content-Type": "application/json"}), 400, None, error_schema)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param


def test_unknown_model_is_404(configured_proxy, error_schema):
    error = assert_error(post(configured_proxy, chat("no-such-model")), 404, "model_not_found", error_schema)
    assert error["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        openai.OpenAI(base_url=f"{configured_proxy.url}/v1", api_key=KEY, max_retries=0).chat.completions.create(**chat("no-such-model"))


def test_unknown_route_is_404_and_wrong_method_405(configured_proxy, error_schema):
    assert_error(httpx.get(f"{configured_proxy.url}/v1/nothing-here"), 404, "unknown_route", error_schema)
    assert_error(httpx.get(f"{configured_proxy.url}/v1/chat/completions"), 405, "method_not_allowed", error_schema)


def test_body_over_the_limit_is_413(configured_proxy, error_schema):
    big = chat()
    big["messages"][0]["content"] = "x" * (70 * 1024)
    assert_error(post(configured_proxy, big), 413, "request_too_large", error_schema)

    def chunks():  # no Content-Length: the limit must hold for chunked bodies too
        yield b'{"model": "gpt-test", "messages": [{"role": "user", "content": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}]}'

    assert_error(post(configured_proxy, chunks()), 413, "request_too_large", error_schema)


def test_upstream_connection_failure_is_502(configured_proxy, error_schema):
    error = assert_error(post(configured_proxy, chat("unreachable")), 502, "upstream_unavailable", error_schema)
    assert "127.0.0.1" not in error["message"]
    assert_error(post(configured_proxy, chat("unreachable", stream=True)), 502, "upstream_unavailable", error_schema)


def test_upstream_timeout_is_504(configured_proxy, error_schema):
    assert_error(post(configured_proxy, chat("slow")), 504, "upstream_timeout", error_schema)
    assert_error(post(configured_proxy, chat("slow", stream=True)), 504, "upstream_timeout", error_schema)


@pytest.mark.parametrize("model, status", [("limited", 429), ("broken", 500)])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_pass_through_with_status_and_body(configured_proxy, error_schema, model, status, stream):
    response = post(configured_proxy, chat(model, stream=stream))
    error = assert_error(response, status, f"fake_{status}", error_schema)
    assert error["message"] == f"fake status fake-status-{status}"


def test_upstream_answer_that_is_not_json_is_502(configured_proxy, error_schema):
    assert_error(post(configured_proxy, chat("malformed")), 502, "upstream_malformed_response", error_schema)


def test_models_lists_the_configured_table(configured_proxy, openai_schema):
    response = httpx.get(f"{configured_proxy.url}/v1/models", headers={"Authorization": f"Bearer {KEY}"})
    openai_schema("list_models_response").validate(response.json())
    assert [m["id"] for m in response.json()["data"]] == ["gpt-test", "slow", "limited", "broken", "malformed", "unreachable"]
    assert httpx.get(f"{configured_proxy.url}/v1/models").status_code == 401


def test_errors_are_counted_by_status_and_code(configured_proxy):
    post(configured_proxy, chat("no-such-model"))
    text = httpx.get(f"{configured_proxy.url}/metrics").text
    assert any(line.startswith('evenhand_errors_total{code="model_not_found",status="404"}') for line in text.splitlines())
    json.dumps(text)  # exposition is plain text


@pytest.mark.parametrize(
    "message, param",
    [
        ({"role": "user"}, "messages.0"),
        ({"role": "wizard", "content": "Hi"}, "messages.0"),
        ({"role": "assistant"}, "messages.0"),
        ({"role": "tool", "content": "sunny"}, "messages.0"),
    ],
)
def test_messages_upstreams_would_choke_on_are_400(configured_proxy, error_schema, message, param, upstream_log):
    error = assert_error(post(configured_proxy, {"model": "gpt-test", "messages": [message]}), 400, "invalid_request_body", error_schema)
    assert error["param"] == param
    assert upstream_log() == []
