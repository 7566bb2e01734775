"""Upstream faults, injected on loopback: every request ends with the right status, or a well-formed
stream error event, within its timeout, and the proxy stays healthy.

Already covered elsewhere, not repeated here: connection refused (a closed port), a slow answer
(read timeout), 429/5xx passed on, a non-JSON answer (test_errors.py); a stream cut mid-way, a
stream without [DONE], a client leaving mid-stream (test_streaming.py). Added here: an upstream
that accepts and hangs up (down), one whose connect never completes (slow to connect), a stream
that stalls or is not an event stream, and the retries and fallbacks of proxy/resilience.py.

"Within its timeout": each client request has a timeout a little above the proxy's own, so a proxy
that hung would fail the test with the client's timeout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.proxy.blackhole import blackhole
from tests.proxy.flaky_upstream import flaky_upstream_fixture
from tests.servers import Server, free_port, start_proxy_with_config

CONNECT = 1.0
READ = 1.5
CLIENT_TIMEOUT = 15.0  # far above CONNECT and READ, far below a hang


flaky = flaky_upstream_fixture("primary")
backup = flaky_upstream_fixture("backup")


@pytest.fixture(scope="module")
def faulty_proxy(flaky: Server, backup: Server, tmp_path_factory) -> Iterator[Server]:
    with blackhole() as dark:
        timeouts = {"connect": CONNECT, "read": READ}
        refused = f"http://127.0.0.1:{free_port()}/v1"
        config = {
            "upstreams": {
                "flaky": {"base_url": f"{flaky.url}/v1", "timeouts": timeouts},
                "backup": {"base_url": f"{backup.url}/v1", "timeouts": timeouts},
                "dark": {"base_url": f"http://127.0.0.1:{dark}/v1", "timeouts": timeouts},
                "refused": {"base_url": refused, "timeouts": timeouts},
            },
            "models": {
                "down": {"upstream": "flaky", "upstream_model": "drop:down:1000000"},
                "dark": {"upstream": "dark"},
                "stall": {"upstream": "flaky", "upstream_model": "stall:30"},
                "garbage": {"upstream": "flaky", "upstream_model": "garbage"},
                "early-drop": {"upstream": "flaky", "upstream_model": "streamdrop:early:1000000"},
                "plain": {"upstream": "flaky", "upstream_model": "plain"},
                "falls-back": {"upstream": "refused", "upstream_model": "plain", "fallbacks": ["backup"]},
                "dark-falls-back": {"upstream": "dark", "upstream_model": "plain", "fallbacks": [{"upstream": "backup", "upstream_model": "renamed"}]},
            },
        }
        path = tmp_path_factory.mktemp("cfg") / "faults.yaml"
        server = start_proxy_with_config(path, config)
        yield server
        server.stop()


@pytest.fixture(autouse=True)
def stays_healthy(request):
    """After every fault: the same proxy process is alive, healthy and answers a normal request."""
    yield
    for name in ("faulty_proxy", "retrying_proxy"):
        if name not in request.fixturenames:
            continue
        server = request.getfixturevalue(name)
        assert server.proc.poll() is None, "the proxy exited"
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert post(server, "plain").status_code == 200
        assert "Traceback" not in server.output()


def post(server: Server, model: str, stream: bool = False, **extra) -> httpx.Response:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "Hi"}], **extra}
    return httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=CLIENT_TIMEOUT)


def events(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def assert_error(response: httpx.Response, status: int, codes: tuple[str, ...], error_schema) -> None:
    assert response.status_code == status, response.text
    error_schema.validate(response.json())
    assert response.json()["error"]["code"] in codes


def assert_stream_error(response: httpx.Response, codes: tuple[str, ...], chunk_schema) -> None:
    """A 200 stream whose last events are an OpenAI-style error and [DONE]."""
    assert response.status_code == 200
    got = events(response)
    assert got[-1] == "[DONE]" and got.count("[DONE]") == 1, got
    error = json.loads(got[-2])["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] in codes
    for event in got[:-2]:
        chunk_schema.validate(json.loads(event))


@pytest.fixture()
def error_schema(openai_schema):
    return openai_schema("error_response")


@pytest.fixture()
def chunk_schema(openai_schema):
    return openai_schema("chat_completion_chunk")


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_that_hangs_up_without_answering_is_502(faulty_proxy, error_schema, stream):
    assert_error(post(faulty_proxy, "down", stream), 502, ("upstream_unavailable",), error_schema)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_slow_to_connect_is_504_after_the_connect_timeout(faulty_proxy, error_schema, stream):
    assert_error(post(faulty_proxy, "dark", stream), 504, ("upstream_timeout", "upstream_connect_timeout"), error_schema)


def test_stream_that_stalls_mid_way_ends_with_a_timeout_event(faulty_proxy, chunk_schema):
    response = post(faulty_proxy, "stall", stream=True)
    assert "served " in response.text  # the first event was relayed before the stall
    assert_stream_error(response, ("upstream_timeout",), chunk_schema)


def test_stream_that_is_not_an_event_stream_ends_with_an_error_event(faulty_proxy, chunk_schema):
    response = post(faulty_proxy, "garbage", stream=True)
    assert_stream_error(response, ("upstream_incomplete_stream", "upstream_unavailable"), chunk_schema)


def test_stream_dropped_before_its_first_event_ends_with_an_error_event(faulty_proxy, chunk_schema):
    response = post(faulty_proxy, "early-drop", stream=True)
    assert_stream_error(response, ("upstream_incomplete_stream", "upstream_unavailable"), chunk_schema)


def test_many_faults_at_once_leave_the_proxy_healthy(faulty_proxy):
    """Faults of every kind in parallel, then the health check of `stays_healthy`."""
    import concurrent.futures

    jobs = [(m, s) for m in ("down", "dark", "garbage", "early-drop", "plain") for s in (False, True)] * 3
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda job: post(faulty_proxy, *job).status_code, jobs))
    assert all(code in (200, 502, 504) for code in statuses), statuses


# --- retries and fallbacks through the proxy --------------------------------------------------


def count(server: Server, key: str) -> int:
    return httpx.get(f"{server.url}/flaky/count/{key}").json()


@pytest.fixture(scope="module")
def retrying_proxy(flaky: Server, tmp_path_factory) -> Iterator[Server]:
    """Quick start in front of the flaky upstream, with retries: the client's model name is the script."""
    config = {
        "upstreams": {"default": {"base_url": f"{flaky.url}/v1", "timeouts": {"connect": CONNECT, "read": READ}, "retries": {"max_retries": 2, "backoff_initial": 0.05, "backoff_max": 0.2}}},
        "default_upstream": "default",
    }
    path = tmp_path_factory.mktemp("cfg") / "retrying.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [429, 503])
def test_failures_before_an_answer_are_retried(retrying_proxy, flaky, stream, status):
    server = retrying_proxy
    key = uuid.uuid4().hex[:8]
    response = post(server, f"fail:{key}:2:{status}", stream)
    assert response.status_code == 200 and "served" in response.text
    assert count(flaky, key) == 3


def test_dropped_connections_are_retried(retrying_proxy, flaky):
    server = retrying_proxy
    key = uuid.uuid4().hex[:8]
    assert post(server, f"drop:{key}:1").status_code == 200
    assert count(flaky, key) == 2


def test_retries_end_with_the_upstreams_own_error(retrying_proxy, flaky, error_schema):
    server = retrying_proxy
    key = uuid.uuid4().hex[:8]
    response = post(server, f"fail:{key}:1000:503")
    assert response.status_code == 503
    error_schema.validate(response.json())


def test_a_stream_is_never_retried_after_its_first_byte(retrying_proxy, flaky, chunk_schema):
    server = retrying_proxy
    key = uuid.uuid4().hex[:8]
    response = post(server, f"cut:{key}", stream=True)
    assert "served " in response.text
    assert_stream_error(response, ("upstream_incomplete_stream", "upstream_unavailable"), chunk_schema)
    assert count(flaky, key) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_serves_when_the_upstream_refuses(faulty_proxy, stream):
    response = post(faulty_proxy, "falls-back", stream)
    assert response.status_code == 200 and "by backup" in response.text


def test_fallback_serves_when_the_upstream_is_slow_to_connect(faulty_proxy, backup):
    response = post(faulty_proxy, "dark-falls-back")
    assert response.status_code == 200 and "by backup" in response.text
    assert httpx.get(f"{backup.url}/flaky/log").json()[-1]["model"] == "renamed"
