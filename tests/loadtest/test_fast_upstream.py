"""The benchmark's lean upstream as clients see it: the openai SDK and raw HTTP against the real
server process on loopback. Answers have fake_upstream's shape, connections stay open, what does
not parse gets an error and a closed connection (never a hang), and delays are fake_upstream's."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from collections.abc import Iterator

import openai
import orjson
import pytest

from loadtest import contenders
from loadtest.bodies import build_bodies
from loadtest.upstream_options import unit as upstream_unit
from tests.servers import Server, free_port

SIZE, CHUNKS, JITTER = 300, 8, 0.5
TEXT = "Hello from the fake upstream.".ljust(SIZE, ".")
HELLO = [{"role": "user", "content": "Hello"}]


def start(*args: str) -> Server:
    port = free_port()
    return Server([sys.executable, "-m", "loadtest.fast_upstream", "--port", str(port), *args], f"listening on {port}", port)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Server]:
    """No delay of its own; fake-slow-S models wait S seconds, spread by the jitter."""
    server = start("--size", str(SIZE), "--chunks", str(CHUNKS), "--jitter", str(JITTER))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def delayed() -> Iterator[Server]:
    """Waits --delay before every answer, without jitter."""
    server = start("--delay", "0.05")
    yield server
    server.stop()


@pytest.fixture()
def client(upstream: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="unused", max_retries=0)


def post(server: Server, body: dict) -> tuple[int, dict[str, str], bytes, float]:
    """One request on a connection of its own: status, headers, body, seconds to the last byte."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        started = time.monotonic()
        conn.request("POST", "/v1/chat/completions", body=orjson.dumps(body), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, time.monotonic() - started
    finally:
        conn.close()


def raw_exchange(server: Server, request: bytes, count: int) -> tuple[list[tuple[int, dict[str, str], bytes]], bool]:
    """Send raw bytes and read `count` answers (Content-Length bodies). When the last one says
    `Connection: close`, also wait (bounded by the socket's timeout) for the server to close.
    Returns the answers and whether the server closed the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        f = sock.makefile("rb")
        answers: list[tuple[int, dict[str, str], bytes]] = []
        while len(answers) < count:
            status_line = f.readline()
            if not status_line:
                return answers, True
            headers = {}
            while (line := f.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            answers.append((int(status_line.split()[1]), headers, f.read(int(headers["content-length"]))))
        if answers[-1][1].get("connection") == "close":
            return answers, f.read() == b""
        return answers, False


MODELS = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"  # a follow-up answered only on an open connection


def test_plain_completion_with_the_sdk_validates_against_openai_schema(client, openai_schema):
    raw = client.chat.completions.with_raw_response.create(model="fake-model", messages=HELLO)
    openai_schema("chat_completion_response").validate(json.loads(raw.http_response.content))
    completion = raw.parse()
    assert completion.choices[0].message.content == TEXT
    assert completion.model == "fake-model" and completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == 15


@pytest.mark.parametrize("usage", [False, True])
def test_stream_with_the_sdk(client, usage):
    options = {"stream_options": {"include_usage": True}} if usage else {}
    parts = list(client.chat.completions.create(model="fake-model", messages=HELLO, stream=True, **options))
    content = [p.choices[0].delta.content for p in parts if p.choices and p.choices[0].delta.content]
    assert len(content) == CHUNKS and "".join(content) == TEXT
    assert parts[0].choices[0].delta.role == "assistant"
    assert [p.choices[0].finish_reason for p in parts if p.choices and p.choices[0].finish_reason] == ["stop"]
    if usage:
        assert parts[-1].choices == [] and parts[-1].usage.completion_tokens == CHUNKS
    else:
        assert all(p.usage is None for p in parts)


def test_stream_on_the_wire_is_chunked_sse_ending_with_done(upstream, openai_schema):
    status, headers, data, _ = post(upstream, {"model": "fake-model", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}})
    assert status == 200 and headers["transfer-encoding"] == "chunked" and headers["content-type"] == "text/event-stream"
    events = [e.removeprefix(b"data: ") for e in data.split(b"\n\n") if e]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    validator = openai_schema("chat_completion_chunk")
    for chunk in chunks:
        validator.validate(chunk)
    assert len(chunks) == 1 + CHUNKS + 1 + 1  # role, content, finish, usage


def test_models_are_listed(upstream, openai_schema):
    answers, _ = raw_exchange(upstream, MODELS, 1)
    assert [a[0] for a in answers] == [200]
    openai_schema("list_models_response").validate(json.loads(answers[0][2]))


def test_keep_alive_serves_many_requests_on_one_connection(upstream):
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=10)
    try:
        conn.request("GET", "/v1/models")
        conn.getresponse().read()
        sock = conn.sock
        for stream in (False, True, False, True, False):
            conn.request("POST", "/v1/chat/completions", body=orjson.dumps({"model": "fake-model", "messages": HELLO, "stream": stream}))
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and body.endswith(b"data: [DONE]\n\n" if stream else b"}")
            assert conn.sock is sock  # http.client opens a new socket when the server closed the last one
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order_behind_a_delayed_one(upstream):
    def request(model: str) -> bytes:
        body = orjson.dumps({"model": model, "messages": HELLO})
        return b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    answers, _ = raw_exchange(upstream, request("fake-slow-0.05") + request("first-after") + request("second-after") + MODELS, 4)
    assert [(status, json.loads(body).get("model")) for status, _, body in answers] == [(200, "fake-slow-0.05"), (200, "first-after"), (200, "second-after"), (200, None)]
    assert "x-fake-delay" in answers[0][1]


def test_a_chunked_request_body_is_read(upstream):
    body = orjson.dumps({"model": "chunked", "messages": HELLO})
    half = len(body) // 2
    request = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
    answers, _ = raw_exchange(upstream, request + MODELS, 2)
    assert [(status, json.loads(data).get("model")) for status, _, data in answers] == [(200, "chunked"), (200, None)]


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
], ids=["garbage", "http2", "upgrade", "two-lengths"])
def test_what_does_not_parse_gets_400_and_a_closed_connection(upstream, request_bytes):
    answers, closed = raw_exchange(upstream, request_bytes + MODELS, 2)
    assert [a[0] for a in answers] == [400] and answers[0][1]["connection"] == "close" and closed
    assert json.loads(answers[0][2])["error"]["code"] == "fake_400"


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    (b"POST", b"/v1/chat/completions", b"{not json", 400),
    (b"POST", b"/v1/chat/completions", b"[1, 2]", 400),
    (b"POST", b"/v1/chat/completions", b'{"model": "fake-slow-soon", "messages": []}', 400),
    (b"GET", b"/v1/chat/completions", b"", 404),
    (b"POST", b"/v1/embeddings", b"{}", 404),
])
def test_bad_requests_get_errors_and_the_connection_stays_open(upstream, method, path, body, status):
    request = b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (method, path, len(body), body)
    answers, _ = raw_exchange(upstream, request + MODELS, 2)
    assert [a[0] for a in answers] == [status, 200]


def test_connection_close_is_honoured(upstream):
    answers, closed = raw_exchange(upstream, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + MODELS, 2)
    assert [a[0] for a in answers] == [200] and answers[0][1]["connection"] == "close" and closed


def test_the_delay_applies_to_plain_answers_and_streams(delayed):
    for stream in (False, True):
        status, headers, data, seconds = post(delayed, {"model": "fake-model", "messages": HELLO, "stream": stream})
        assert status == 200 and float(headers["x-fake-delay"]) == pytest.approx(0.05, abs=1e-6)
        assert seconds >= 0.05 - 0.005  # a timer may fire up to a millisecond early; never this much


def test_a_fake_slow_model_sets_the_delay(delayed):
    status, headers, _, seconds = post(delayed, {"model": "fake-slow-0.1", "messages": HELLO})
    assert status == 200 and float(headers["x-fake-delay"]) == pytest.approx(0.1, abs=1e-6)
    assert seconds >= 0.1 - 0.005


def test_no_delay_means_no_wait(upstream):
    status, headers, _, _ = post(upstream, {"model": "fake-model", "messages": HELLO})
    assert status == 200 and "x-fake-delay" not in headers


def test_jitter_depends_only_on_the_last_message_as_in_fake_upstream(upstream):
    def delay(messages: list[dict]) -> float:
        body = {"model": "fake-slow-0.1", "messages": messages}
        status, headers, _, seconds = post(upstream, body)
        assert status == 200 and seconds >= float(headers["x-fake-delay"]) - 0.005
        expected = 0.1 * (1 - JITTER + 2 * JITTER * upstream_unit(body))
        assert float(headers["x-fake-delay"]) == pytest.approx(expected, abs=1e-6)
        return float(headers["x-fake-delay"])

    last = {"role": "user", "content": "What is the capital of France?"}
    first = delay([last])
    assert delay([{"role": "system", "content": "Be brief."}, last]) == first
    assert delay([{"role": "user", "content": "What is the capital of Spain?"}]) != first
    assert 0.1 * (1 - JITTER) <= first < 0.1 * (1 + JITTER)


def test_the_harness_starts_it_and_its_probe_is_answered(tmp_path):
    service = contenders.fake_upstream(size=100, chunks=4, delay=0.0)
    assert "loadtest.fast_upstream" in service.argv
    probe = next(b for b in build_bodies(2, stream=False) if b" I am " in b)
    try:
        service.start(tmp_path, probe)
        status, _, data = contenders._post(service.chat_url, probe)
        assert status == 200 and len(json.loads(data)["choices"][0]["message"]["content"]) == 100
    finally:
        service.stop()
