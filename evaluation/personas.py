"""The identities an evaluation compares: the study's axes, from the built-in list or a personas.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILTIN = Path(__file__).with_name("identities.yaml")
NO_PERSONA = "no_persona"


@dataclass(frozen=True, slots=True)
class Persona:
    axis: str
    identity: str


def load_personas(path: Path | None = None) -> list[Persona]:
    """Identities in file order. JSON is the study's personas.json (axis -> phrases; its no_persona entry
    is dropped, the baseline is always run); YAML has the same shape."""
    path = path or BUILTIN
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of axis -> list of identities")
    out: list[Persona] = []
    for axis, identities in data.items():
        if axis == NO_PERSONA:
            continue
        if not isinstance(identities, list) or not all(isinstance(i, str) and i.strip() for i in identities):
            raise ValueError(f"{path}: axis {axis!r} must list identity phrases")
        out.extend(Persona(str(axis), i.strip()) for i in identities)
    if not out:
        raise ValueError(f"{path}: no identities")
    return out


def select_personas(personas: list[Persona], wanted: list[str] | None) -> list[Persona]:
    """Keep the identities named (an identity phrase or an axis name, case-insensitive), in file order."""
    if not wanted:
        return personas
    keys = {w.strip().lower() for w in wanted}
    known = {p.identity.lower() for p in personas} | {p.axis.lower() for p in personas}
    unknown = sorted(keys - known)
    if unknown:
        raise ValueError(f"unknown identities or axes: {', '.join(unknown)}")
    return [p for p in personas if p.identity.lower() in keys or p.axis.lower() in keys]
