"""Property tests of everything that reads client or upstream bytes: any input gives a request or an
OpenAI-style 400, never another exception (which the app would turn into a 500)."""

from __future__ import annotations

import json
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.auth import ANONYMOUS
from proxy.config import load_config
from proxy.errors import ProxyError
from proxy.metrics import Metrics
from proxy.observe import StreamWatcher, parse_completion
from proxy.routing import Router
from proxy.wire import ChatRequest, parse_chat_request

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
anything = st.one_of(json_values, st.sampled_from([None, 0, "", [], {}]))
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "wizard", ""]) | st.text(max_size=5)
parts = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]) | anything}, optional={"text": st.text() | anything, "image_url": anything}), max_size=3)
messages = st.lists(
    st.fixed_dictionaries({}, optional={"role": roles | anything, "content": st.text() | parts | anything, "tool_call_id": st.text() | anything, "tool_calls": anything, "name": anything}),
    max_size=4,
)
near_requests = st.fixed_dictionaries(
    {},
    optional={"model": st.text(max_size=20) | anything, "messages": messages | anything, "stream": st.booleans() | anything, "user": anything, "metadata": anything, "temperature": anything, "tools": anything},
)


def parses_or_400(raw: bytes) -> ChatRequest | None:
    try:
        return parse_chat_request(raw)
    except ProxyError as err:
        assert err.status == 400
        body = orjson.loads(err.body())
        assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["type"] == "invalid_request_error"
        return None


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(raw: bytes):
    parses_or_400(raw)


@FUZZ
@given(anything)
def test_any_json(value):
    parses_or_400(json.dumps(value).encode())


@FUZZ
@given(near_requests)
def test_near_valid_requests_roundtrip(data: dict):
    request = parses_or_400(json.dumps(data).encode())
    if request is not None:
        again = parse_chat_request(request.to_json())
        assert again.model_dump() == request.model_dump()


@FUZZ
@given(st.text(max_size=200))
def test_any_text_however_encoded(text: str):
    """Any text, lone surrogates and NULs included, escaped or raw: accepted when it is valid UTF-8
    JSON, else a 400."""
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    escaped = json.dumps(body).encode()
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for encoded in (escaped, raw, raw.decode("utf-8", "replace").encode("utf-16")):
        request = parses_or_400(encoded)
        if request is not None:
            assert request.messages[0].content == text


@pytest.fixture(scope="module")
def pipeline():
    """The pipeline as proxy/wiring.py builds it for a quick-start config: detector, policies and
    defenses, whatever is wired."""
    from proxy.wiring import build_pipeline

    config = load_config(upstream="http://127.0.0.1:9/v1", env={})
    return build_pipeline(config)(Router(config), Metrics())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(near_requests, st.dictionaries(st.sampled_from(["x-evenhand-persona", "x-evenhand-policy", "x-evenhand-arm", "x-evenhand-expected"]), st.text(max_size=40), max_size=3))
def test_the_wired_pipeline_takes_any_accepted_request(pipeline, data: dict, headers: dict):
    raw = json.dumps(data).encode()
    if parses_or_400(raw) is None:
        return
    try:
        pipeline.prepare(raw, ANONYMOUS, headers, time.perf_counter())
    except ProxyError as err:
        assert 400 <= err.status < 500


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_stream_watcher_takes_any_bytes(chunks: list[bytes]):
    watcher = StreamWatcher(on_text=lambda text: None)
    for chunk in chunks:
        watcher.feed(chunk)


@FUZZ
@given(st.binary(max_size=500) | anything.map(lambda v: json.dumps(v).encode()))
def test_completion_parser_takes_any_bytes(raw: bytes):
    parsed = parse_completion(raw)
    assert parsed is None or (isinstance(parsed[0], str) and isinstance(parsed[1], str))
