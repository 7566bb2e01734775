from __future__ import annotations

from pathlib import Path

from evaluation.cache import ResponseCache, request_key

MSGS = [{"role": "user", "content": "hi"}]
PARAMS = {"temperature": 0.0, "seed": 0, "max_tokens": 16}


def test_key_depends_on_everything_that_decides_the_answer():
    base = request_key("m", "default", MSGS, PARAMS)
    assert base == request_key("m", "default", [dict(MSGS[0])], dict(reversed(list(PARAMS.items()))))
    others = {
        request_key("m2", "default", MSGS, PARAMS),
        request_key("m", "study-baseline", MSGS, PARAMS),
        request_key("m", "default", [{"role": "user", "content": "hi!"}], PARAMS),
        request_key("m", "default", MSGS, {**PARAMS, "max_tokens": 17}),
    }
    assert base not in others and len(others) == 4


def test_records_survive_a_restart(tmp_path: Path):
    path = tmp_path / "c" / "cache.jsonl"
    with ResponseCache(path) as cache:
        cache.put("k1", {"text": "one"})
        cache.put("k2", {"text": "two ✓"})
    again = ResponseCache(path)
    assert len(again) == 2 and again.get("k2") == {"text": "two ✓"} and "k1" in again
    again.close()


def test_a_torn_last_line_is_dropped_and_does_not_spoil_the_next(tmp_path: Path):
    path = tmp_path / "cache.jsonl"
    with ResponseCache(path) as cache:
        cache.put("k1", {"text": "one"})
    with path.open("a") as f:
        f.write('{"key": "k2", "record": {"te')  # killed mid-write
    with ResponseCache(path) as cache:
        assert cache.get("k2") is None and cache.get("k1") == {"text": "one"}
        cache.put("k3", {"text": "three"})
    with ResponseCache(path) as cache:
        assert cache.get("k3") == {"text": "three"} and len(cache) == 2


def test_memory_only_cache():
    cache = ResponseCache(None)
    cache.put("k", {"text": "x"})
    assert cache.get("k") == {"text": "x"} and cache.path is None
