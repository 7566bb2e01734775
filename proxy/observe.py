"""Watching answers as they pass: the text that came back, whole or as SSE chunks, without holding it.

`StreamWatcher` parses the upstream's event stream incrementally (events may be split across
network chunks at any byte) to learn what the relay must know (did `[DONE]` arrive, did every
choice finish, was usage sent) and to hand content deltas to the response observers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from defenses.grading import MAX_GRADED_CHARS, Expected, grade
from defenses.refusal import RefusalStream

Grade = str  # "correct" | "incorrect" | "unparsed"


@dataclass(slots=True)
class Observation:
    """What the proxy learned from an answer. None: not observed (no detector ran, or not labelled)."""

    refused: bool | None = None
    graded: Grade | None = None


def parse_completion(body: bytes) -> tuple[str, str] | None:
    """(response id, first choice's text) of a non-streaming answer, or None if the body is not a chat completion."""
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
    response_id = data.get("id")
    response_id = response_id if isinstance(response_id, str) else ""
    content = message.get("content")
    if isinstance(content, str):
        return response_id, content
    refusal = message.get("refusal")
    return response_id, refusal if isinstance(refusal, str) else ""


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


class Observer(Protocol):
    """Fed the answer's text as it passes; `refused` is the verdict so far, `settle()` forces it."""

    refused: bool | None

    def __call__(self, delta: str) -> None: ...

    def settle(self) -> bool: ...

    def finish(self) -> Observation: ...


class AnswerObserver:
    """Stage 5: refusal verdict and grading for one answer, whole or streamed.

    Refusals are judged from the first few hundred characters as they pass; grading reads the end
    of the answer, so only its last `MAX_GRADED_CHARS` are kept, and only when the request carries
    an expected answer.
    """

    __slots__ = ("_refusal", "_expected", "_parts", "_size")

    def __init__(self, expected: Expected | None = None) -> None:
        self._refusal = RefusalStream()
        self._expected = expected
        self._parts: list[str] = []
        self._size = 0

    def __call__(self, delta: str) -> None:
        if self._refusal.verdict is None:
            self._refusal.feed(delta)
        if self._expected is not None:
            self._parts.append(delta)
            self._size += len(delta)
            if self._size > 2 * MAX_GRADED_CHARS:
                tail = "".join(self._parts)[-MAX_GRADED_CHARS:]
                self._parts, self._size = [tail], len(tail)

    @property
    def refused(self) -> bool | None:
        """The refusal verdict so far: None until the detector has decided."""
        return self._refusal.verdict

    def settle(self) -> bool:
        """The refusal verdict now, from what has been seen (the answer has ended)."""
        return self._refusal.finish()

    def finish(self) -> Observation:
        refused = self._refusal.finish()
        graded = grade("".join(self._parts), self._expected) if self._expected is not None else None
        return Observation(refused=refused, graded=graded)

