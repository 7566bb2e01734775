"""Both load generators against the real fake upstream: they count good answers, and they count
as errors what a client would not accept (a non-200, a stream without its [DONE])."""

from collections.abc import Iterator

import orjson
import pytest

from loadtest.bodies import build_bodies
from loadtest.drive import drive, wrk_available
from tests.servers import Server, start_fake_upstream

SECONDS = {"aio": 0.3, "wrk": 1}  # wrk measures whole seconds
DRIVERS = ["aio", pytest.param("wrk", marks=pytest.mark.skipif(not wrk_available(), reason="wrk is not installed (apt-get install wrk)"))]


@pytest.fixture(scope="module")
def upstream() -> Iterator[Server]:
    server = start_fake_upstream("--chunks", "16")
    yield server
    server.stop()


def bodies_file(tmp_path, model: str, stream: bool):
    bodies = [orjson.dumps({**orjson.loads(b), "model": model}) for b in build_bodies(8, stream=stream)]
    path = tmp_path / f"{model}.jsonl"
    path.write_bytes(b"\n".join(bodies) + b"\n")
    return path


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("stream", [False, True])
def test_good_answers_are_counted(upstream, tmp_path, driver, stream):
    result = drive(f"{upstream.url}/v1/chat/completions", bodies_file(tmp_path, "fake-model", stream), stream=stream, concurrency=4, duration=SECONDS[driver], max_requests=1_000_000, driver=driver)
    assert result.driver == driver
    assert result.requests > 10 and result.errors == 0
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.throughput > 0 and not result.capped


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(("model", "stream"), [("fake-status-500", False), ("fake-nodone", True)])
def test_bad_answers_are_errors(upstream, tmp_path, driver, model, stream):
    result = drive(f"{upstream.url}/v1/chat/completions", bodies_file(tmp_path, model, stream), stream=stream, concurrency=2, duration=SECONDS[driver], max_requests=1_000_000, driver=driver)
    assert result.requests > 0 and result.errors == result.requests
    assert result.throughput == 0


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_request_limit_stops_the_load(upstream, tmp_path, driver):
    result = drive(f"{upstream.url}/v1/chat/completions", bodies_file(tmp_path, "fake-model", False), stream=False, concurrency=1, duration=SECONDS[driver], max_requests=25, driver=driver)
    assert result.capped and 25 <= result.requests <= 26


def test_load_goes_to_loopback_only(tmp_path):
    with pytest.raises(ValueError):
        drive("http://example.com/v1/chat/completions", bodies_file(tmp_path, "fake-model", False), stream=False, concurrency=1, duration=1, max_requests=1, driver="aio")
