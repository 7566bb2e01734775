"""The persona an application asserts for its user, in a header or the request's metadata.

    X-Evenhand-Persona: age=senior_citizen; religion=muslim
    {"metadata": {"evenhand_persona": "age=senior_citizen; religion=muslim"}}
    {"metadata": {"evenhand_persona": {"age": "senior_citizen", "race": ["asian", "caucasian"]}}}

Only taxonomy keys are accepted, so what an app sends can never widen the metric label set; anything
else is a client error with a message saying what is wrong and what is allowed.
"""

from __future__ import annotations

import re
from typing import Any

from defenses.taxonomy import Taxonomy
from defenses.types import PersonaAttribute

HEADER = "X-Evenhand-Persona"
METADATA_KEY = "evenhand_persona"
_MAX_LENGTH = 2000
_MAX_PAIRS = 32
_PAIR = re.compile(r"^\s*([^=:\s]+)\s*[=:]\s*([^=:]+?)\s*$")


def parse_app_persona(header: str | None, metadata: dict[str, Any] | None, taxonomy: Taxonomy) -> tuple[PersonaAttribute, ...]:
    """Parse the header and `metadata["evenhand_persona"]` into source="app" attributes.

    Raises ValueError with a client-readable message on bad syntax or unknown axes/values."""
    pairs: list[tuple[str, str, str]] = []
    if header is not None and header.strip():
        pairs.extend(_parse_string(header, f"the {HEADER} header"))
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if raw is not None:
        where = f"metadata.{METADATA_KEY}"
        if isinstance(raw, str):
            pairs.extend(_parse_string(raw, where))
        elif isinstance(raw, dict):
            for axis, values in raw.items():
                for value in values if isinstance(values, list) else [values]:
                    if not isinstance(axis, str) or not isinstance(value, str):
                        raise ValueError(f"{where} must map persona axes to value names (strings), got {axis!r}: {value!r}.")
                    pairs.append((axis, value, where))
        else:
            raise ValueError(f"{where} must be a string like 'age=senior_citizen; religion=muslim' or an object of axis -> value.")
    if len(pairs) > _MAX_PAIRS:
        raise ValueError(f"Too many persona attributes ({len(pairs)}); at most {_MAX_PAIRS} are allowed.")
    seen: dict[tuple[str, str], PersonaAttribute] = {}
    for axis, value, where in pairs:
        axis_key, value_key = _key(axis), _key(value)
        if axis_key not in taxonomy.axes():
            raise ValueError(
                f"Unknown persona axis '{axis}' in {where}. Known axes: {', '.join(taxonomy.axes())}."
            )
        if not taxonomy.has(axis_key, value_key):
            raise ValueError(
                f"Unknown value '{value}' for persona axis '{axis_key}' in {where}. "
                f"Known values: {', '.join(taxonomy.values(axis_key))}."
            )
        seen.setdefault((axis_key, value_key), PersonaAttribute(axis=axis_key, value=value_key, source="app"))
    return tuple(seen.values())


def _parse_string(text: str, where: str) -> list[tuple[str, str, str]]:
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"{where} is too long ({len(text)} characters; at most {_MAX_LENGTH}).")
    out = []
    for piece in re.split(r"[;,]", text):
        if not piece.strip():
            continue
        m = _PAIR.match(piece)
        if m is None:
            raise ValueError(
                f"Could not parse '{piece.strip()}' in {where}: expected axis=value pairs separated by ';', "
                "for example 'age=senior_citizen; religion=muslim'."
            )
        out.append((m.group(1), m.group(2), where))
    return out


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())
