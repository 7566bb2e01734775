"""`evenhand detect [FILE]`: run persona detection over logged traffic, offline, for audits.

Input: JSON Lines, one object per line with `messages` (and `id`, and optionally `metadata` with an
app-asserted `evenhand_persona`); whole chat requests work as they are. Output: one JSON line per
input line, `{"id", "line", "personas": [...]}`, or `{"id", "line", "error"}` for a line that could
not be read, which is also reported on stderr; the run goes on to the next line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import orjson
from pydantic import ValidationError

from defenses.persona import PersonaDetector, default_detector, parse_app_persona
from defenses.taxonomy import load_taxonomy
from defenses.types import PersonaAttribute
from proxy.wire import Message


class _LineError(Exception):
    def __init__(self, message: str, record_id: Any = None) -> None:
        super().__init__(message)
        self.record_id = record_id


def run(source: TextIO, out: TextIO, err: TextIO, taxonomy_file: Path | None = None) -> int:
    """Exit code: 0 if every line was read, 1 if some were malformed, 2 if the taxonomy file is bad."""
    try:
        detector = default_detector() if taxonomy_file is None else PersonaDetector(load_taxonomy(taxonomy_file))
    except ValueError as exc:
        err.write(f"evenhand detect: {exc}\n")
        return 2
    malformed = 0
    number = 0
    lines = iter(source)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            err.write(f"line {number + 1}: the input is not valid UTF-8 ({exc.reason}); stopping here\n")
            return 1
        number += 1
        if not line.strip():
            continue
        try:
            record_id, attributes = _detect_line(line, detector)
        except _LineError as exc:
            malformed += 1
            err.write(f"line {number}: {exc}\n")
            out.write(_dumps({"id": exc.record_id, "line": number, "error": str(exc)}))
            continue
        out.write(_dumps({"id": record_id, "line": number, "personas": [_persona(a) for a in attributes]}))
    return 1 if malformed else 0


def _detect_line(line: str, detector: PersonaDetector) -> tuple[Any, tuple[PersonaAttribute, ...]]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _LineError(f"not valid JSON: {exc}") from None
    if not isinstance(record, dict):
        raise _LineError(f"expected a JSON object with 'messages', got {type(record).__name__}")
    record_id = record.get("id")
    raw_messages = record.get("messages")
    if not isinstance(raw_messages, list):
        raise _LineError("expected 'messages' to be a list of chat messages", record_id)
    messages = []
    for i, raw in enumerate(raw_messages):
        try:
            messages.append(Message.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            where = f"messages[{i}].{where}" if where else f"messages[{i}]"
            raise _LineError(f"invalid message: {where}: {first['msg']}", record_id) from None
    metadata = record.get("metadata")
    try:
        app = parse_app_persona(None, metadata if isinstance(metadata, dict) else None, detector.taxonomy)
    except ValueError as exc:
        raise _LineError(str(exc), record_id) from None
    return record_id, app + detector.detect_messages(messages).attributes


def _persona(a: PersonaAttribute) -> dict[str, Any]:
    in_message = a.message_index >= 0
    return {
        "axis": a.axis,
        "value": a.value,
        "source": a.source,
        "message_index": a.message_index if in_message else None,
        "part_index": a.part_index,
        "span": [a.start, a.end] if in_message else None,
        "term_span": [a.term_start, a.term_end] if in_message else None,
        "evidence": a.evidence,
    }


def _dumps(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj).decode() + "\n"
