"""Hostile bodies against a real proxy process: huge, deeply nested, oddly encoded, thousands of
messages. Each gets a clean OpenAI-style 4xx or a 200, never a 5xx and never a hang, and the proxy
is healthy afterwards. (Bodies over the size limit: test_errors.py.)"""

from __future__ import annotations

import codecs
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import Server, start_proxy

CLIENT_TIMEOUT = 60.0
LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def hostile_proxy(fake_upstream: Server) -> Iterator[Server]:
    server = start_proxy("--upstream", f"{fake_upstream.url}/v1")
    yield server
    assert server.proc.poll() is None, "the proxy died"
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    server.stop()


def send(server: Server, body: bytes, content_type: str = "application/json", **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", content=body, headers={"Content-Type": content_type, **headers}, timeout=CLIENT_TIMEOUT)


def chat(**extra) -> dict:
    return {"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}], **extra}


def assert_clean(response: httpx.Response, error_schema, allowed: tuple[int, ...] = (200, 400)) -> None:
    assert response.status_code in allowed, response.text[:500]
    if response.status_code >= 400:
        error_schema.validate(response.json())


@pytest.fixture()
def error_schema(openai_schema):
    return openai_schema("error_response")


def nested(depth: int, open_: str = "[", close: str = "]", inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


@pytest.mark.parametrize(
    "where",
    [
        lambda n: '{"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}], "vendor": ' + n + "}",
        lambda n: '{"model": "fake-model", "messages": [{"role": "user", "content": ' + n + "}]}",
        lambda n: '{"model": "fake-model", "messages": ' + n + "}",
        lambda n: n,
    ],
    ids=["vendor-field", "content", "messages", "top-level"],
)
@pytest.mark.parametrize("depth", [100_000, 1000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested(hostile_proxy, error_schema, where, depth, kind):
    value = nested(depth) if kind == "array" else nested(depth, '{"a":', "}")
    assert_clean(send(hostile_proxy, where(value).encode()), error_schema)


def test_huge_body_just_under_the_limit(hostile_proxy, error_schema):
    body = json.dumps(chat(messages=[{"role": "user", "content": "x" * (LIMIT - 200)}])).encode()
    assert len(body) < LIMIT
    assert_clean(send(hostile_proxy, body), error_schema, (200,))


@pytest.mark.parametrize("count", [5_000, 50_000])
def test_thousands_of_messages(hostile_proxy, error_schema, count):
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(count)]
    assert_clean(send(hostile_proxy, json.dumps(chat(messages=messages)).encode()), error_schema, (200,))


def test_thousands_of_content_parts(hostile_proxy, error_schema):
    parts = [{"type": "text", "text": f"part {i}"} for i in range(20_000)]
    assert_clean(send(hostile_proxy, json.dumps(chat(messages=[{"role": "user", "content": parts}])).encode()), error_schema, (200,))


def test_an_object_with_a_hundred_thousand_keys(hostile_proxy, error_schema):
    assert_clean(send(hostile_proxy, json.dumps(chat(vendor={f"k{i}": i for i in range(100_000)})).encode()), error_schema)


def test_a_megabyte_model_name(hostile_proxy, error_schema):
    assert_clean(send(hostile_proxy, json.dumps(chat(model="m" * 1_000_000)).encode()), error_schema)


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-16"),
        lambda s: s.encode("utf-16-le"),
        lambda s: s.encode("utf-32"),
        lambda s: codecs.BOM_UTF8 + s.encode(),
        lambda s: s.encode("latin-1", "replace"),
        lambda s: s.encode("cp500", "replace"),
    ],
    ids=["utf16-bom", "utf16le", "utf32", "utf8-bom", "latin1", "ebcdic"],
)
def test_odd_encodings(hostile_proxy, error_schema, encode):
    body = json.dumps(chat(messages=[{"role": "user", "content": "Grüße, 你好 🎉"}]), ensure_ascii=False)
    assert_clean(send(hostile_proxy, encode(body)), error_schema)


@pytest.mark.parametrize(
    "content",
    [
        rb'"\ud800"',  # a lone surrogate, escaped
        rb'"\udfff\ud800"',
        b'"\xed\xa0\x80"',  # a lone surrogate as raw (invalid) UTF-8
        b'"\xff\xfe"',  # bytes that are no UTF-8 at all
        rb'"nul \u0000 inside"',
        b'"raw nul \x00 inside"',  # a control character JSON does not allow unescaped
        b'"\xc3"',  # a truncated multi-byte sequence
        '"\u202e\u200b\ufeff mixed direction"'.encode(),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_odd_characters(hostile_proxy, error_schema, content, stream):
    body = b'{"model": "fake-model", "stream": ' + (b"true" if stream else b"false") + b', "messages": [{"role": "user", "content": ' + content + b"}]}"
    assert_clean(send(hostile_proxy, body), error_schema)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16"])
def test_content_type_does_not_matter(hostile_proxy, error_schema, content_type):
    assert_clean(send(hostile_proxy, json.dumps(chat()).encode(), content_type), error_schema, (200,))


def test_huge_headers(hostile_proxy):
    response = httpx.post(f"{hostile_proxy.url}/v1/chat/completions", json=chat(), headers={"X-Evenhand-Persona": "a" * 200_000, "X-Junk": "b" * 60_000}, timeout=CLIENT_TIMEOUT)
    assert response.status_code < 500


def test_a_body_shorter_than_its_content_length_does_not_hang_the_proxy(hostile_proxy):
    """The client promises 1000 bytes, sends 10 and goes: the proxy must drop the request, not wait on it."""
    with socket.create_connection(("127.0.0.1", hostile_proxy.port), timeout=10) as raw:
        raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\": ")
    assert httpx.post(f"{hostile_proxy.url}/v1/chat/completions", json=chat(), timeout=CLIENT_TIMEOUT).status_code == 200


def errors_counted(server: Server) -> dict[str, float]:
    lines = httpx.get(f"{server.url}/metrics", timeout=10).text.splitlines()
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in lines if line.startswith("evenhand_errors_total{")}


def test_a_client_leaving_mid_body_is_not_an_internal_error(fake_upstream):
    server = start_proxy("--upstream", f"{fake_upstream.url}/v1")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        deadline = time.monotonic() + 10
        while not errors_counted(server):  # the proxy counts the request once it sees the client gone
            assert time.monotonic() < deadline, "the abandoned request was never counted"
        counted = errors_counted(server)
        assert counted == {'evenhand_errors_total{code="client_disconnected",status="499"}': 1.0}, counted
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_garbage_instead_of_http(hostile_proxy):
    with socket.create_connection(("127.0.0.1", hostile_proxy.port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4)  # a TLS hello, say
        answer = raw.recv(4096)
    assert not answer or answer.startswith(b"HTTP/1.1 4")
    assert httpx.get(f"{hostile_proxy.url}/healthz", timeout=10).status_code == 200
