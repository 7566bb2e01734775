"""The live policy set: loaded at startup, replaced when the files change (watchfiles) or on SIGHUP.

A reload parses and validates in a worker thread, off the request path, then swaps the whole set
in one assignment, so a request sees either the old policies or the new ones, never a mix. A bad
file keeps the last good set in force; the error is logged and reported to `on_reload(ok, error)`
(the metrics module counts it). Startup is stricter: a bad file there raises PolicyError, because
there is no last good set to keep.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from proxy.policy import PolicyError, PolicySet, load_policies

log = logging.getLogger("evenhand.policy")

OnReload = Callable[[bool, str | None], None]


class PolicyStore:
    def __init__(self, paths: Sequence[Path] = (), *, on_reload: OnReload | None = None, debounce_ms: int = 300) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._on_reload = on_reload
        self._debounce_ms = debounce_ms
        self._lock = threading.Lock()
        self._set = load_policies(self.paths)
        self._loaded_at = time.time()
        self._reloads = 0
        self._failed = 0
        self._last_error: str | None = None
        self._tasks: set[asyncio.Task[bool]] = set()
        self._sighup_loop: asyncio.AbstractEventLoop | None = None

    @property
    def current(self) -> PolicySet:
        """The set in force now. Read it once per request and use that object throughout."""
        return self._set

    def reload(self) -> bool:
        """Load the files again; swap them in if they are all good. Blocking: call it off the event loop."""
        with self._lock:
            try:
                new = load_policies(self.paths)
            except PolicyError as exc:
                self._failed += 1
                message = "; ".join(str(e) for e in exc.errors)
                self._last_error = message
                log.error("Policy reload failed; the last good policies stay in force: %s", message)
                self._notify(False, message)
                return False
            self._set = new
            self._loaded_at = time.time()
            self._reloads += 1
            self._last_error = None
            log.info("Policies reloaded: %s", ", ".join(p.name for p in new.configured))
            self._notify(True, None)
            return True

    async def areload(self) -> bool:
        return await asyncio.to_thread(self.reload)

    async def watch(self, stop_event: asyncio.Event | None = None) -> None:
        """Reload whenever a configured policy file changes, until `stop_event` is set (or cancelled).

        A file is watched through its directory, so editors that save by renaming a new file into
        place are seen too. With no configured paths (the shipped default) there is nothing to watch.
        """
        targets = self._targets()
        if not targets:
            return
        from watchfiles import awatch

        files = {p for kind, p in targets if kind == "file"}
        dirs = {p for kind, p in targets if kind == "dir"}

        def relevant(change: object, path: str) -> bool:
            p = Path(path)
            # `..data`: a Kubernetes ConfigMap volume swaps this symlink, never the files' own names
            return p in files or (p.parent in dirs and (p.suffix in (".yaml", ".yml") or p.name == "..data"))

        watched = sorted({p.parent if kind == "file" else p for kind, p in targets})
        async for _ in awatch(
            *watched, watch_filter=relevant, stop_event=stop_event, debounce=self._debounce_ms, recursive=False
        ):
            await self.areload()

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Reload on SIGHUP (Unix). Call from the running event loop at startup."""
        loop = loop or asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup, loop)
        self._sighup_loop = loop

    def remove_sighup(self) -> None:
        if self._sighup_loop is not None:
            self._sighup_loop.remove_signal_handler(signal.SIGHUP)
            self._sighup_loop = None

    def describe(self) -> dict[str, Any]:
        """For the admin endpoint: the policies in force, their files and content hashes, reload state."""
        return {
            "paths": [str(p) for p in self.paths],
            "loaded_at": datetime.fromtimestamp(self._loaded_at, timezone.utc).isoformat(),
            "reloads": self._reloads,
            "failed_reloads": self._failed,
            "last_error": self._last_error,
            "policies": self._set.describe(),
        }

    def _on_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        log.info("SIGHUP: reloading policies")
        task = loop.create_task(self.areload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self, ok: bool, error: str | None) -> None:
        if self._on_reload is None:
            return
        try:
            self._on_reload(ok, error)
        except Exception:
            log.exception("The policy reload callback failed")

    def _targets(self) -> list[tuple[str, Path]]:
        out = []
        for p in self.paths:
            resolved = p.resolve()
            out.append(("dir" if resolved.is_dir() else "file", resolved))
        return out
