"""Responses kept on disk by request hash, so an interrupted evaluation continues where it stopped.

One append-only JSONL file: each answered request is one line written and flushed as it arrives; a
line cut short by a crash is ignored on the next load. The server URL is not part of the key, so a
local model may come back on another port and the run still resumes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def request_key(model: str, arm: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of everything that decides the answer."""
    blob = json.dumps(
        {"model": model, "arm": arm, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"


class ResponseCache:
    """key -> record (at least {"text": ...}); `path=None` keeps nothing on disk."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._data: dict[str, dict[str, Any]] = {}
        self._file = None
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._load(path)
        self._file = path.open("a", encoding="utf-8")
        if path.stat().st_size and not _ends_with_newline(path):
            self._file.write("\n")  # so the next record does not join the torn line

    def _load(self, path: Path) -> None:
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # torn last line of an interrupted run
                if isinstance(row, dict) and isinstance(row.get("key"), str):
                    self._data[row["key"]] = row["record"]

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def get(self, key: str) -> dict[str, Any] | None:
        return self._data.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self._data[key] = record
        if self._file is not None:
            self._file.write(json.dumps({"key": key, "record": record}, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
