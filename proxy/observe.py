"""Watching answers as they pass: the text that came back, whole or as SSE chunks, without holding it.

`StreamWatcher` parses the upstream's event stream incrementally (events may be split across
network chunks at any byte) to learn what the relay must know (did `[DONE]` arrive, did every
choice finish, was usage sent) and to hand content deltas to the response observers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

Grade = str  # "correct" | "incorrect" | "unparsed"


@dataclass(slots=True)
class Observation:
    """What the proxy learned from an answer. None: not observed (no detector ran, or not labelled)."""

    refused: bool | None = None
    graded: Grade | None = None


def completion_text(body: bytes) -> str | None:
    """The first choice's text of a non-streaming answer, or None if the body is not a chat completion."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    refusal = message.get("refusal")
    return refusal if isinstance(refusal, str) else ""


class StreamWatcher:
    """Follows an SSE stream of chat completion chunks as bytes pass through."""

    __slots__ = ("done", "finished", "usage_seen", "last", "content_chunks", "_buffer", "_on_text")

    def __init__(self, on_text: Callable[[str], None] | None = None) -> None:
        self.done = False  # "data: [DONE]" seen
        self.finished = False  # a choice reported finish_reason
        self.usage_seen = False
        self.last: dict[str, Any] | None = None  # last parsed chunk, to build synthetic ones from
        self.content_chunks = 0
        self._buffer = b""
        self._on_text = on_text

    def feed(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = buffer[start:end]
            start = end + 1
            if line.startswith(b"data:"):
                self._event(line[5:].strip())
        self._buffer = buffer[start:]

    def _event(self, payload: bytes) -> None:
        if payload == b"[DONE]":
            self.done = True
            return
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(chunk, dict):
            return
        self.last = chunk
        if chunk.get("usage"):
            self.usage_seen = True
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finished = True
            delta = choice.get("delta")
            if isinstance(delta, dict) and choice.get("index", 0) == 0:
                content = delta.get("content")
                if content:
                    self.content_chunks += 1
                    if self._on_text is not None:
                        self._on_text(content)
