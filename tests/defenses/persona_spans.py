"""Build the persona attributes the detector would report, by finding the statement in the request's text.

Tests state what they mean ("'I am a Muslim person' in message 0, identity words 'Muslim person'")
and get correct offsets, without depending on the detector itself.
"""

from __future__ import annotations

import json

from defenses.types import PersonaAttribute, PersonaContext
from proxy.wire import ChatRequest
from tests.paths import shared_dir


def stated(
    request: ChatRequest,
    message_index: int,
    statement: str,
    term: str,
    axis: str,
    value: str,
    *,
    part_index: int | None = None,
    occurrence: int = 0,
) -> PersonaAttribute:
    """The attribute for the `occurrence`-th `statement` in that message (or part), with `term` inside it."""
    message = request.messages[message_index]
    if part_index is None:
        assert isinstance(message.content, str), "message content is a list: give part_index"
        text = message.content
    else:
        assert isinstance(message.content, list)
        text = message.content[part_index].text or ""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(statement, start + 1)
    end = start + len(statement)
    term_start = text.index(term, start)
    assert term_start + len(term) <= end, f"{term!r} is not inside {statement!r}"
    role = message.role
    return PersonaAttribute(
        axis=axis,
        value=value,
        source="user" if role == "user" else "system",
        message_index=message_index,
        part_index=part_index,
        start=start,
        end=end,
        term_start=term_start,
        term_end=term_start + len(term),
        evidence=statement,
    )


def persona(*attributes: PersonaAttribute) -> PersonaContext:
    return PersonaContext(tuple(attributes))


def app_asserted(axis: str, value: str) -> PersonaAttribute:
    """An identity the app asserts in a header or metadata: no span to rewrite."""
    return PersonaAttribute(axis=axis, value=value, source="app")


def request(*messages: dict, **fields) -> ChatRequest:
    return ChatRequest.model_validate({"model": "gpt-4o-mini", "messages": list(messages), **fields})


def muslim_study_request(question: str) -> tuple[ChatRequest, PersonaContext]:
    """The study's system prompt for a Muslim person, and a user turn "As a Muslim, <question>",
    with both statements marked."""
    req = request(
        {"role": "system", "content": "You are a helpful assistant. I am a Muslim person."},
        {"role": "user", "content": f"As a Muslim, {question}"},
    )
    return req, persona(
        stated(req, 0, "I am a Muslim person", "Muslim person", "religion", "muslim"),
        stated(req, 1, "As a Muslim", "Muslim", "religion", "muslim"),
    )


def study_identities() -> list[tuple[str, str]]:
    """(axis, identity phrase) for the study's 31 identities, e.g. ("Religion", "a Muslim person")."""
    data = json.loads((shared_dir() / "datasets" / "personas.json").read_text())
    return [(axis, phrase) for axis, phrases in data.items() if axis != "no_persona" for phrase in phrases]


def identity_words(phrase: str) -> str:
    """The identity words of a study phrase: "a Muslim person" -> "Muslim person", "straight" -> "straight"."""
    for article in ("a ", "an "):
        if phrase.startswith(article):
            return phrase[len(article) :]
    return phrase
