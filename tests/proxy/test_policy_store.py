"""The live policy set: reload on demand, on file change (watchfiles) and on SIGHUP; a bad file keeps the last good set."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from datetime import datetime

import pytest

from defenses.types import PersonaContext
from proxy.auth import Caller
from proxy.policy import PolicyError
from proxy.policy_store import PolicyStore
from proxy.wire import ChatRequest

REQUEST = ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
CALLER = Caller("0123456789ab")


def chosen(store: PolicyStore) -> str:
    return store.current.choose(REQUEST, CALLER, PersonaContext()).policy


class Reloads:
    """Records on_reload calls; `wait` lets async tests wait for the next one without sleeping."""

    def __init__(self) -> None:
        self.calls: list[tuple[bool, str | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def __call__(self, ok: bool, error: str | None) -> None:
        self.calls.append((ok, error))
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    def arm(self) -> asyncio.Event:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        return self._event


def test_starts_with_the_shipped_default_when_nothing_is_configured():
    store = PolicyStore()
    assert chosen(store) == "default"
    assert store.describe()["paths"] == []


def test_a_bad_file_at_startup_raises(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: p\nmode: loud\n")
    with pytest.raises(PolicyError) as info:
        PolicyStore([bad])
    assert str(info.value).startswith(f"{bad}:2: mode: ")


def test_reload_swaps_good_and_keeps_the_last_good_on_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: first\n")
    reloads = Reloads()
    store = PolicyStore([path], on_reload=reloads)
    original = store.current
    assert chosen(store) == "first"

    path.write_text("name: first\nscope:\n  models: [m]\n  colour: red\n")
    assert store.reload() is False
    assert store.current is original
    assert chosen(store) == "first"
    (ok, error), = reloads.calls
    assert ok is False and error == f"{path}:4: scope.colour: unknown field (check the spelling; `evenhand policy schema` lists every field)"
    described = store.describe()
    assert described["failed_reloads"] == 1 and described["reloads"] == 0
    assert described["last_error"] == error

    path.write_text("name: second\n")
    assert store.reload() is True
    assert chosen(store) == "second"
    assert reloads.calls[-1] == (True, None)
    described = store.describe()
    assert described["last_error"] is None and described["reloads"] == 1
    mine = described["policies"][0]
    assert (mine["name"], mine["file"], mine["source"]) == ("second", str(path), "configured")
    assert mine["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    datetime.fromisoformat(described["loaded_at"])


def test_a_deleted_file_keeps_the_last_good(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: kept\n")
    store = PolicyStore([path])
    path.unlink()
    assert store.reload() is False
    assert chosen(store) == "kept"


def test_a_failing_callback_does_not_break_reloads(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: a\n")

    def broken(ok: bool, error: str | None) -> None:
        raise RuntimeError("metrics are down")

    store = PolicyStore([path], on_reload=broken)
    path.write_text("name: b\n")
    assert store.reload() is True
    assert chosen(store) == "b"


async def _until_reloaded(reloads: Reloads, change, attempts: int = 60) -> None:
    """Make the change until a reload reports back: the watcher may not be watching yet on the first try."""
    for _ in range(attempts):
        event = reloads.arm()
        change()
        try:
            await asyncio.wait_for(event.wait(), timeout=0.5)
            return
        except TimeoutError:
            continue
    raise AssertionError("no reload after the file changed")


def test_watch_reloads_a_changed_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: before\n")
    reloads = Reloads()
    store = PolicyStore([path], on_reload=reloads, debounce_ms=50)

    async def main() -> None:
        stop = asyncio.Event()
        watcher = asyncio.create_task(store.watch(stop))
        await _until_reloaded(reloads, lambda: path.write_text("name: after\n"))
        assert chosen(store) == "after"
        await _until_reloaded(reloads, lambda: path.write_text("name: after\nmode: loud\n"))
        assert reloads.calls[-1][0] is False
        assert chosen(store) == "after"
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)

    asyncio.run(main())


def test_watch_sees_a_file_replaced_by_rename(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: before\n")
    reloads = Reloads()
    store = PolicyStore([path], on_reload=reloads, debounce_ms=50)

    def save_like_an_editor() -> None:
        tmp = tmp_path / ".p.yaml.swp"
        tmp.write_text("name: renamed\n")
        os.replace(tmp, path)

    async def main() -> None:
        stop = asyncio.Event()
        watcher = asyncio.create_task(store.watch(stop))
        await _until_reloaded(reloads, save_like_an_editor)
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)

    asyncio.run(main())
    assert chosen(store) == "renamed"


def test_watch_a_directory_picks_up_new_files(tmp_path):
    d = tmp_path / "policies"
    d.mkdir()
    (d / "a.yaml").write_text("name: a\nscope: {models: [other]}\n")
    reloads = Reloads()
    store = PolicyStore([d], on_reload=reloads, debounce_ms=50)

    async def main() -> None:
        stop = asyncio.Event()
        watcher = asyncio.create_task(store.watch(stop))
        await _until_reloaded(reloads, lambda: (d / "b.yaml").write_text("name: b\n"))
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)

    asyncio.run(main())
    assert [p.name for p in store.current.configured] == ["a", "b"]
    assert chosen(store) == "b"


def test_nothing_configured_nothing_to_watch():
    store = PolicyStore()
    asyncio.run(asyncio.wait_for(store.watch(), timeout=5))


def test_sighup_reloads(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: before\n")
    reloads = Reloads()
    store = PolicyStore([path], on_reload=reloads)

    async def main() -> None:
        store.install_sighup()
        try:
            event = reloads.arm()
            path.write_text("name: after-hup\n")
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.wait_for(event.wait(), timeout=10)
        finally:
            store.remove_sighup()

    asyncio.run(main())
    assert reloads.calls == [(True, None)]
    assert chosen(store) == "after-hup"
