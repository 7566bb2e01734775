"""Streams are relayed as they arrive and always end well-formed for the client."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import openai
import pytest

from proxy.observe import StreamWatcher
from tests.servers import Server


def stream_events(proxy: Server, model: str, **extra) -> list[str]:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Hi"}], **extra}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def test_stream_without_done_gets_done(proxy):
    events = stream_events(proxy, "fake-nodone")
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == "stop"


def test_stream_cut_midway_ends_with_an_error_event(proxy):
    events = stream_events(proxy, "fake-cut")
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] in ("upstream_incomplete_stream", "upstream_unavailable")
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="fake-cut", messages=[{"role": "user", "content": "Hi"}], stream=True))


def test_chunks_arrive_before_the_upstream_finishes(proxy):
    """The drip model takes 20 s in all; the first content must come long before that."""
    body = {"model": "fake-drip", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    started = time.monotonic()
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if "tick 1 " in line:
                break
    assert time.monotonic() - started < 15


def test_client_disconnect_cancels_the_upstream_request(proxy, fake_upstream):
    def stats() -> dict:
        return httpx.get(f"{fake_upstream.url}/fake/stats").json()

    marker = f"disconnect-{uuid.uuid4()}"
    body = {"model": "fake-drip", "stream": True, "user": marker, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if "tick 2 " in line:
                break
    # the drip would run 20 s more; the proxy must drop it as soon as the client is gone
    deadline = time.monotonic() + 10
    while marker not in stats()["cancelled_users"]:
        assert time.monotonic() < deadline, "the upstream stream was not cancelled"


def test_usage_chunk_is_added_when_the_upstream_sends_none(proxy, openai_schema):
    # fake-nodone ends without [DONE] and, without include_usage upstream, without usage
    events = stream_events(proxy, "fake-nodone", stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    openai_schema("chat_completion_chunk").validate(usage_chunk)
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_watcher_parses_events_split_anywhere(size):
    chunks = [
        {"id": "c", "choices": [{"index": 0, "delta": {"content": f"piece{i} "}, "finish_reason": None}]} for i in range(5)
    ] + [{"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, {"id": "c", "choices": [], "usage": {"total_tokens": 3}}]
    wire = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    seen: list[str] = []
    watcher = StreamWatcher(on_text=seen.append)
    for i in range(0, len(wire), size):
        watcher.feed(wire[i : i + size])
    assert "".join(seen) == "".join(f"piece{i} " for i in range(5))
    assert watcher.done and watcher.finished and watcher.usage_seen
    assert watcher.content_chunks == 5
