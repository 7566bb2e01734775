"""The values every stage of the pipeline passes along: who the user says they are, and what a defense did.

Plain frozen dataclasses, so the hot path pays nothing for validation and tests can build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["system", "user", "app"]


@dataclass(frozen=True, slots=True)
class PersonaAttribute:
    """One identity the user states (or the app asserts) about the user.

    `start`/`end` index the statement that discloses the identity ("I am a Muslim person") in the
    text of message `message_index` (part `part_index` when the content is a list of parts);
    `term_start`/`term_end` index just the identity words inside it ("Muslim person"). Defenses
    rewrite these spans, so they always index the original text. App-supplied attributes (header or
    metadata) have no message and all offsets at -1.
    """

    axis: str
    value: str
    source: Source
    message_index: int = -1
    part_index: int | None = None
    start: int = -1
    end: int = -1
    term_start: int = -1
    term_end: int = -1
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class PersonaContext:
    """Every identity found in one request, in message order."""

    attributes: tuple[PersonaAttribute, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.attributes

    def axes(self) -> tuple[str, ...]:
        """Distinct axes, in first-seen order."""
        return tuple(dict.fromkeys(a.axis for a in self.attributes))

    def identities(self) -> tuple[tuple[str, str], ...]:
        """Distinct (axis, value) pairs, in first-seen order: what metrics count once each."""
        return tuple(dict.fromkeys((a.axis, a.value) for a in self.attributes))

    def in_messages(self) -> tuple[PersonaAttribute, ...]:
        """Attributes stated in the conversation (not asserted by the app), the ones defenses rewrite."""
        return tuple(a for a in self.attributes if a.message_index >= 0)


EMPTY_PERSONA = PersonaContext()


@dataclass(frozen=True, slots=True)
class Action:
    """What one defense did to one request: for response headers, metrics and the audit log."""

    defense: str
    what: str
    message_index: int = -1
    detail: dict[str, str] = field(default_factory=dict)
