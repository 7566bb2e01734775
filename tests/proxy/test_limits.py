"""Concurrency limits (proxy/limits.py): past the limit, a 429 at once, OpenAI-style, with Retry-After."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest

from proxy.config import UpstreamConfig
from proxy.errors import ProxyError
from proxy.limits import ConcurrencyLimit, LimitedUpstream, global_limit, limited
from proxy.upstream import OpenAIUpstream
from tests.proxy.flaky_upstream import flaky_upstream_fixture
from tests.servers import Server, start_proxy_with_config



def test_slots_up_to_the_limit_then_429():
    limit = global_limit(2)
    first, second = limit.acquire(), limit.acquire()
    with pytest.raises(ProxyError) as caught:
        limit.acquire()
    err = caught.value
    assert (err.status, err.code, err.type, err.headers) == (429, "too_many_requests", "rate_limit_error", {"Retry-After": "1"})
    assert set(orjson.loads(err.body())["error"]) == {"message", "type", "param", "code"}
    first.release()
    first.release()  # twice is harmless: the count must not go below what is held
    assert limit.in_use == 1
    third = limit.acquire()
    second.release()
    third.release()
    assert limit.in_use == 0


def test_with_block_releases_unless_handed_over():
    limit = ConcurrencyLimit(1, "full")
    with limit.acquire():
        assert limit.in_use == 1
    assert limit.in_use == 0
    with limit.acquire() as slot:
        release = slot.hand_over()  # a stream keeps its slot past the handler
    assert limit.in_use == 1
    release()
    assert limit.in_use == 0


def test_an_exception_releases_even_a_handed_over_slot():
    limit = ConcurrencyLimit(1, "full")
    with pytest.raises(RuntimeError):
        with limit.acquire() as slot:
            slot.hand_over()
            raise RuntimeError("the stream never started")
    assert limit.in_use == 0


def test_no_limit_costs_nothing():
    limit = global_limit(None)
    slots = [limit.acquire() for _ in range(1000)]
    assert limit.in_use == 0 and all(s is slots[0] for s in slots)
    up = OpenAIUpstream("u", UpstreamConfig(base_url="http://127.0.0.1:9/v1"))
    assert limited(up, None) is up


flaky = flaky_upstream_fixture("limited")


def test_an_upstream_stream_holds_its_slot_until_it_ends(flaky):
    async def go():
        up = LimitedUpstream(OpenAIUpstream("u", UpstreamConfig(base_url=f"{flaky.url}/v1")), 1)
        await up.start()
        try:
            drip = orjson.dumps({"model": "drip:100:0.05", "stream": True, "messages": [{"role": "user", "content": "Hi"}]})
            plain = orjson.dumps({"model": "plain", "messages": [{"role": "user", "content": "Hi"}]})
            async with up.stream(drip) as reply:
                await reply.chunks.__anext__()
                with pytest.raises(ProxyError) as caught:
                    await up.complete(plain)
                assert caught.value.status == 429
                assert up.limit.in_use == 1
            assert up.limit.in_use == 0
            reply = await up.complete(plain)
            assert reply.status == 200 and up.limit.in_use == 0
            # a failed request gives its slot back too
            broken = LimitedUpstream(OpenAIUpstream("dead", UpstreamConfig(base_url="http://127.0.0.1:9/v1")), 1)
            await broken.start()
            with pytest.raises(ProxyError):
                await broken.complete(plain)
            assert broken.limit.in_use == 0
            await broken.aclose()
        finally:
            await up.aclose()

    asyncio.run(go())


# --- through the proxy ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_proxy(flaky: Server, tmp_path_factory) -> Iterator[Server]:
    config = {
        "server": {"max_concurrency": 2},
        "upstreams": {"one": {"base_url": f"{flaky.url}/v1", "max_concurrency": 1}, "other": {"base_url": f"{flaky.url}/v1"}},
        "models": {"narrow": {"upstream": "one", "upstream_model": "drip:100:0.05"}, "narrow-plain": {"upstream": "one", "upstream_model": "plain"}, "wide": {"upstream": "other", "upstream_model": "drip:100:0.05"}, "wide-plain": {"upstream": "other", "upstream_model": "plain"}},
    }
    path = tmp_path_factory.mktemp("cfg") / "limits.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def chat(model: str, stream: bool = False) -> dict:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": "Hi"}], "user": uuid.uuid4().hex}


class HeldStream:
    """A stream through the proxy, held open (first event read) until `close()`."""

    def __init__(self, server: Server, model: str) -> None:
        self._client = httpx.Client(timeout=30)
        self._cm = self._client.stream("POST", f"{server.url}/v1/chat/completions", json=chat(model, stream=True))
        self.response = self._cm.__enter__()
        self.status = self.response.status_code
        self._lines = self.response.iter_lines()  # kept: a collected iterator would close the stream
        if self.status == 200:
            next(self._lines)

    def close(self) -> None:
        self._cm.__exit__(None, None, None)
        self._client.close()


def assert_overloaded(response: httpx.Response, error_schema) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "1"
    error_schema.validate(response.json())
    assert response.json()["error"]["code"] == "too_many_requests"


@pytest.fixture()
def error_schema(openai_schema):
    return openai_schema("error_response")


def test_upstream_limit_answers_429_at_once_and_frees_when_the_stream_ends(limited_proxy, error_schema):
    held = HeldStream(limited_proxy, "narrow")
    try:
        assert held.status == 200
        assert_overloaded(httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("narrow-plain"), timeout=10), error_schema)
        # another upstream is not affected
        assert httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("wide-plain"), timeout=10).status_code == 200
    finally:
        held.close()  # the client leaves mid-stream: the slot must come back
    assert httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("narrow-plain"), timeout=10).status_code == 200


def test_global_limit_answers_429_at_once(limited_proxy, error_schema):
    held = [HeldStream(limited_proxy, "wide"), HeldStream(limited_proxy, "wide")]
    try:
        assert [h.status for h in held] == [200, 200]
        assert_overloaded(httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("wide-plain"), timeout=10), error_schema)
        assert_overloaded(httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("wide", stream=True), timeout=10), error_schema)
        assert httpx.get(f"{limited_proxy.url}/healthz").status_code == 200  # health is never limited
    finally:
        for h in held:
            h.close()
    assert httpx.post(f"{limited_proxy.url}/v1/chat/completions", json=chat("wide-plain"), timeout=10).status_code == 200


def test_slots_come_back_after_many_abandoned_streams(limited_proxy):
    """Clients that leave mid-stream, in parallel, must not leak slots: afterwards the full limit is
    available again (fails once the limit is wired if a slot leaks; passes unwired too)."""

    def abandon() -> None:
        held = HeldStream(limited_proxy, "wide")
        held.close()

    for _ in range(5):
        threads = [threading.Thread(target=abandon) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # the proxy learns of each departure asynchronously: wait (bounded) until both slots are back
    deadline = time.monotonic() + 10
    while True:
        held = [HeldStream(limited_proxy, "wide"), HeldStream(limited_proxy, "wide")]
        statuses = [h.status for h in held]
        for h in held:
            h.close()
        if statuses == [200, 200]:
            break
        assert time.monotonic() < deadline, f"slots leaked: {statuses}"
