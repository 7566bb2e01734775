"""Retries with backoff and fallback upstreams (proxy/resilience.py), against real upstreams on loopback.

The wrapper runs in the test's own event loop over real `OpenAIUpstream`s talking HTTP to flaky
upstream servers; only the wait between tries is recorded instead of slept, so the tests can say
which waits were chosen without taking them. End-to-end behaviour through a proxy process is in
test_faults.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest

from proxy.config import Fallback, RetryConfig, UpstreamConfig
from proxy.errors import ProxyError
from proxy.limits import LimitedUpstream
from proxy.resilience import Candidate, ResilientUpstream, backoff_seconds, retry_after_seconds, route_upstream
from proxy.upstream import OpenAIUpstream
from tests.proxy.flaky_upstream import FlakyUpstream, start_in_thread
from tests.servers import free_port


@pytest.fixture(scope="module")
def primary() -> Iterator[tuple[FlakyUpstream, str]]:
    upstream, url, stop = start_in_thread("primary")
    yield upstream, url
    stop()


@pytest.fixture(scope="module")
def secondary() -> Iterator[tuple[FlakyUpstream, str]]:
    upstream, url, stop = start_in_thread("secondary")
    yield upstream, url
    stop()


class Waits(list):
    """Stands in for asyncio.sleep: records each wait the wrapper chose."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def key() -> str:
    return uuid.uuid4().hex[:12]


def count(url: str, k: str) -> int:
    return httpx.get(f"{url.removesuffix('/v1')}/flaky/count/{k}").json()


def body(model: str, stream: bool = False) -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}], **({"stream": True} if stream else {})})


RETRY = RetryConfig(max_retries=2, backoff_initial=0.1, backoff_max=1.0, jitter=0.0, retry_after_max=5.0)


def run(candidates: list[tuple[str, RetryConfig, str | None]], action, waits: Waits | None = None, read_timeout: float = 10.0):
    """Build the wrapper over fresh upstreams in this loop, run `action(wrapper)`, close everything."""

    async def go():
        timeouts = {"connect": 2, "read": read_timeout}
        ups = [OpenAIUpstream(f"up{i}", UpstreamConfig(base_url=url, timeouts=timeouts)) for i, (url, _, _) in enumerate(candidates)]
        wrapper = ResilientUpstream([Candidate(u, retry, model) for u, (_, retry, model) in zip(ups, candidates)], sleep=waits if waits is not None else Waits())
        await wrapper.start()
        try:
            return await action(wrapper)
        finally:
            await wrapper.aclose()

    return asyncio.run(go())


async def complete(wrapper, model: str):
    return await wrapper.complete(body(model))


def completer(model: str):
    return lambda wrapper: complete(wrapper, model)


def streamer(model: str):
    async def action(wrapper):
        async with wrapper.stream(body(model, stream=True)) as reply:
            data = b"".join([c async for c in reply.chunks])
            return reply.status, reply.body, data

    return action


# --- the waits, as pure functions -------------------------------------------------------------


def test_backoff_grows_exponentially_up_to_its_cap_and_jitter_only_shortens():
    retry = RetryConfig(backoff_initial=0.5, backoff_multiplier=2.0, backoff_max=3.0, jitter=0.5)
    assert [backoff_seconds(retry, n, lambda: 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff_seconds(retry, 1, lambda: 1.0) == 0.5  # jitter cuts by at most half
    assert backoff_seconds(retry, 1, lambda: 0.5) == 0.75


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers, expected):
    assert retry_after_seconds(headers) == expected


def test_retry_after_as_an_http_date():
    now = time.time()
    when = email.utils.formatdate(now + 20, usegmt=True)
    assert 18 <= retry_after_seconds({"retry-after": when}, now=now) <= 20
    assert retry_after_seconds({"retry-after": email.utils.formatdate(now - 60, usegmt=True)}, now=now) == 0.0


# --- non-streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_retryable_statuses_are_retried_until_success(primary, status):
    _, url = primary
    k = key()
    waits = Waits()
    reply = run([(url, RETRY, None)], completer(f"fail:{k}:2:{status}"), waits)
    assert reply.status == 200
    assert count(url, k) == 3
    assert waits == [0.1, 0.2]  # exponential backoff, no jitter configured


def test_retry_after_is_honoured(primary):
    _, url = primary
    k = key()
    waits = Waits()
    reply = run([(url, RETRY, None)], completer(f"fail:{k}:1:429:2"), waits)
    assert reply.status == 200
    assert waits == [2.0]


def test_retry_after_beyond_the_cap_is_not_waited_for(primary):
    _, url = primary
    k = key()
    waits = Waits()
    reply = run([(url, RETRY, None)], completer(f"fail:{k}:1:429:60"), waits)
    assert reply.status == 429 and reply.headers["retry-after"] == "60"
    assert waits == [] and count(url, k) == 1


def test_retries_are_bounded_and_the_last_failure_is_returned(primary):
    _, url = primary
    k = key()
    reply = run([(url, RETRY, None)], completer(f"fail:{k}:99:503"))
    assert reply.status == 503 and b"scripted 503" in reply.body
    assert count(url, k) == 3  # one try and max_retries=2 retries


def test_client_errors_are_not_retried(primary):
    _, url = primary
    k = key()
    reply = run([(url, RETRY, None)], completer(f"fail:{k}:1:400"))
    assert reply.status == 400 and count(url, k) == 1


def test_dropped_connections_are_retried(primary):
    _, url = primary
    k = key()
    reply = run([(url, RETRY, None)], completer(f"drop:{k}:2"))
    assert reply.status == 200 and count(url, k) == 3


def test_read_timeouts_are_not_retried(primary, secondary):
    (_, url1), (second, url2) = primary, secondary
    k = key()
    before = len(second.log)

    async def action(wrapper):
        with pytest.raises(ProxyError) as caught:
            await wrapper.complete(body(f"slow:{k}:5"))
        return caught.value

    waits = Waits()
    err = run([(url1, RETRY, None), (url2, RETRY, None)], action, waits, read_timeout=0.5)
    assert err.status == 504 and err.code == "upstream_timeout"
    assert count(url1, k) == 1 and waits == [] and len(second.log) == before


def test_refused_connections_are_retried():
    refused = f"http://127.0.0.1:{free_port()}/v1"

    async def action(wrapper):
        with pytest.raises(ProxyError) as caught:
            await wrapper.complete(body("plain"))
        return caught.value

    waits = Waits()
    err = run([(refused, RETRY, None)], action, waits)
    assert err.status == 502 and err.code == "upstream_unavailable"
    assert waits == [0.1, 0.2]


def test_fallback_after_retries_with_the_fallbacks_model_name(primary, secondary):
    (_, url1), (second, url2) = primary, secondary
    k = key()
    waits = Waits()
    reply = run([(url1, RetryConfig(max_retries=1, backoff_initial=0.1, jitter=0), None), (url2, RetryConfig(), "renamed-model")], completer(f"fail:{k}:99:500"), waits)
    assert reply.status == 200 and b"served by secondary" in reply.body
    assert count(url1, k) == 2 and waits == [0.1]
    assert second.log[-1]["model"] == "renamed-model"


def test_fallback_when_the_upstream_refuses_connections(secondary):
    _, url2 = secondary
    refused = f"http://127.0.0.1:{free_port()}/v1"
    reply = run([(refused, RetryConfig(), None), (url2, RetryConfig(), None)], completer("plain"))
    assert reply.status == 200 and b"served by secondary" in reply.body


def test_no_fallback_on_a_client_error(primary, secondary):
    (_, url1), (second, url2) = primary, secondary
    k = key()
    before = len(second.log)
    reply = run([(url1, RETRY, None), (url2, RETRY, None)], completer(f"fail:{k}:1:404"))
    assert reply.status == 404 and len(second.log) == before


def test_a_full_concurrency_limit_moves_to_the_fallback_at_once(primary, secondary):
    (_, url1), (_, url2) = primary, secondary

    async def go():
        first = LimitedUpstream(OpenAIUpstream("first", UpstreamConfig(base_url=url1)), 1)
        second = OpenAIUpstream("second", UpstreamConfig(base_url=url2))
        waits = Waits()
        wrapper = ResilientUpstream([Candidate(first, RETRY), Candidate(second, RETRY)], sleep=waits)
        await wrapper.start()
        try:
            async with first.stream(body("drip:20:0.05", stream=True)):  # holds the only slot
                reply = await wrapper.complete(body("plain"))
            return reply, waits
        finally:
            await wrapper.aclose()

    reply, waits = asyncio.run(go())
    assert reply.status == 200 and b"served by secondary" in reply.body
    assert waits == []


def test_full_limits_everywhere_end_in_the_proxys_own_429(primary):
    _, url1 = primary

    async def go():
        only = LimitedUpstream(OpenAIUpstream("only", UpstreamConfig(base_url=url1)), 1)
        wrapper = ResilientUpstream([Candidate(only, RETRY)], sleep=Waits())
        await wrapper.start()
        try:
            async with only.stream(body("drip:20:0.05", stream=True)):
                with pytest.raises(ProxyError) as caught:
                    await wrapper.complete(body("plain"))
            return caught.value
        finally:
            await wrapper.aclose()

    err = asyncio.run(go())
    assert err.status == 429 and err.code == "too_many_requests" and err.headers == {"Retry-After": "1"}


# --- streams ----------------------------------------------------------------------------------


def test_stream_error_status_before_any_byte_is_retried(primary):
    _, url = primary
    k = key()
    status, _, data = run([(url, RETRY, None)], streamer(f"fail:{k}:2:503"))
    assert status == 200 and data.endswith(b"data: [DONE]\n\n")
    assert count(url, k) == 3


def test_stream_dropped_before_its_first_event_is_retried(primary):
    _, url = primary
    k = key()
    status, _, data = run([(url, RETRY, None)], streamer(f"streamdrop:{k}:1"))
    assert status == 200 and b"served " in data and data.endswith(b"data: [DONE]\n\n")
    assert count(url, k) == 2


def test_stream_falls_back_when_the_upstream_is_refused(secondary):
    _, url2 = secondary
    refused = f"http://127.0.0.1:{free_port()}/v1"
    status, _, data = run([(refused, RETRY, None), (url2, RETRY, None)], streamer("plain"))
    assert status == 200 and b"by secondary" in data


def test_stream_is_never_retried_once_a_byte_has_come(primary, secondary):
    (_, url1), (second, url2) = primary, secondary
    k = key()
    before = len(second.log)

    async def action(wrapper):
        async with wrapper.stream(body(f"cut:{k}", stream=True)) as reply:
            got = []
            with pytest.raises(ProxyError) as caught:
                async for chunk in reply.chunks:
                    got.append(chunk)
            return b"".join(got), caught.value

    data, err = run([(url1, RETRY, None), (url2, RETRY, None)], action)
    assert b"served " in data and err.status == 502
    assert count(url1, k) == 1 and len(second.log) == before


def test_stream_errors_after_the_last_try_reach_the_client_as_they_came(primary):
    _, url = primary
    k = key()
    status, error_body, data = run([(url, RetryConfig(max_retries=1, backoff_initial=0.1), None)], streamer(f"fail:{k}:99:500"))
    assert status == 500 and b"scripted 500" in error_body and data == b""
    assert count(url, k) == 2


# --- building routes --------------------------------------------------------------------------


def test_routes_without_retries_or_fallbacks_get_the_upstream_itself():
    configs = {"a": UpstreamConfig(base_url="http://127.0.0.1:9/v1"), "b": UpstreamConfig(base_url="http://127.0.0.1:9/v1", retries=RetryConfig(max_retries=1))}
    ups = {name: OpenAIUpstream(name, cfg) for name, cfg in configs.items()}
    assert route_upstream(ups, configs, "a", "m") is ups["a"]
    with_retries = route_upstream(ups, configs, "b", "m")
    assert isinstance(with_retries, ResilientUpstream) and with_retries.name == "b"
    with_fallback = route_upstream(ups, configs, "a", "m", [Fallback(upstream="b"), Fallback(upstream="b", upstream_model="other")])
    assert [(c.upstream.name, c.model) for c in with_fallback.candidates] == [("a", None), ("b", None), ("b", "other")]
