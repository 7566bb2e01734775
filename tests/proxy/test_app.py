"""The proxy as apps see it: the official openai SDK and raw HTTP against a real proxy process in
front of a real (fake-model) upstream on loopback."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from tests.servers import Server, start_proxy

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}


@pytest.fixture()
def client(proxy: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key="unused", max_retries=0)


def test_plain_completion_validates_against_openai_schema(client, proxy, openai_schema):
    raw = client.chat.completions.with_raw_response.create(model="fake-model", messages=[{"role": "user", "content": "Hello"}])
    body = json.loads(raw.http_response.content)
    openai_schema("chat_completion_response").validate(body)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the fake upstream."
    assert completion.usage.total_tokens == 15


def test_multi_turn_reaches_upstream_unchanged(client, upstream_log):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ]
    client.chat.completions.create(model="fake-model", messages=messages, temperature=0.25, seed=7)
    body = upstream_log()[-1]["body"]
    assert body == {"model": "fake-model", "messages": messages, "temperature": 0.25, "seed": 7}


def test_unknown_fields_and_content_parts_pass_through_untouched(proxy, upstream_log):
    request = {
        "model": "fake-model",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}], "name": "ana"},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "none",
        "response_format": {"type": "text"},
        "logprobs": True,
        "top_logprobs": 2,
        "vendor_extension": {"nested": [1, 2.5, None, "x"], "flag": False},
        "max_completion_tokens": 1234567890123,
        "temperature": 0.7,
    }
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json=request)
    assert response.status_code == 200
    assert upstream_log()[-1]["body"] == request


def test_tools_round_trip(client, openai_schema):
    raw = client.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL], tool_choice="auto"
    )
    openai_schema("chat_completion_response").validate(json.loads(raw.http_response.content))
    call = raw.parse().choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris"}
    # the tool result goes back through the proxy like any message
    follow = client.chat.completions.create(
        model="fake-model",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    assert follow.choices[0].message.content


def test_json_object_response_format(client):
    completion = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "JSON please"}], response_format={"type": "json_object"})
    assert json.loads(completion.choices[0].message.content) == {"answer": "fake"}


def test_stream_with_usage_validates_every_chunk(client, proxy, openai_schema):
    validator = openai_schema("chat_completion_chunk")
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json={"model": "fake-model", "stream": True, "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "Hi"}]}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        validator.validate(chunk)
    assert chunks[-1]["usage"]["total_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from the fake upstream."

    stream = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True})
    parts = list(stream)
    assert "".join(p.choices[0].delta.content or "" for p in parts if p.choices) == text
    assert parts[-1].usage.completion_tokens > 0


def test_async_client_plain_and_stream(proxy):
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=f"{proxy.url}/v1", api_key="unused", max_retries=0)
        plain = await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Hi"}])
        stream = await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Hi"}], stream=True)
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
        await client.close()
        return plain.choices[0].message.content, streamed

    plain, streamed = asyncio.run(run())
    assert plain == streamed == "Hello from the fake upstream."


def test_models_lists_the_upstreams_models(client, proxy, openai_schema):
    body = httpx.get(f"{proxy.url}/v1/models").json()
    openai_schema("list_models_response").validate(body)
    assert [m.id for m in client.models.list()] == ["fake-model"]


def test_health_and_readiness(proxy):
    assert httpx.get(f"{proxy.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{proxy.url}/readyz")
    assert ready.status_code == 200 and ready.json()["upstreams"] == {"default": "ok"}


def test_not_ready_when_the_upstream_is_down():
    from tests.servers import free_port

    server = start_proxy("--upstream", f"http://127.0.0.1:{free_port()}/v1")
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["upstreams"] == {"default": "unreachable"}
    finally:
        server.stop()


def test_metrics_count_requests(proxy, client):
    def count() -> float:
        text = httpx.get(f"{proxy.url}/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("evenhand_requests_total{") and 'model="fake-model"' in line)

    before = count()
    client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Hi"}])
    assert count() == before + 1
