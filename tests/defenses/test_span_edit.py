"""How much of its surroundings a removed identity statement takes with it, and how generalizing reads."""

from __future__ import annotations

import pytest

from defenses.span_edit import apply, generalization, removal

# (text, statement, identity words, after removal (None: cannot stand alone), after generalization)
CASES = [
    ("You are a helpful assistant. I am a Muslim person.", "I am a Muslim person", "Muslim person",
     "You are a helpful assistant.", "You are a helpful assistant. I am a person."),
    ("You are a helpful assistant. I am a Muslim person. Answer briefly.", "I am a Muslim person", "Muslim person",
     "You are a helpful assistant. Answer briefly.", "You are a helpful assistant. I am a person. Answer briefly."),
    ("You are a helpful assistant. I am a Muslim person.\nAnswer briefly.", "I am a Muslim person", "Muslim person",
     "You are a helpful assistant.\nAnswer briefly.", "You are a helpful assistant. I am a person.\nAnswer briefly."),
    ("As a Muslim, what is 17*23?", "As a Muslim", "Muslim", "What is 17*23?", "As a person, what is 17*23?"),
    ("As a Muslim, what is 17*23?", "As a Muslim,", "Muslim", "What is 17*23?", "As a person, what is 17*23?"),
    ("I am a Muslim person and I need help with my taxes.", "I am a Muslim person", "Muslim person",
     "I need help with my taxes.", "I am a person and I need help with my taxes."),
    ("I'm Muslim, so what should I eat?", "I'm Muslim", "Muslim", "What should I eat?", "I'm a person, so what should I eat?"),
    ("Please, as a senior citizen, explain pensions.", "as a senior citizen", "senior citizen",
     "Please explain pensions.", "Please, as a person, explain pensions."),
    ("What, as a Muslim, should I eat?", "as a Muslim", "Muslim", "What should I eat?", "What, as a person, should I eat?"),
    ("Explain pensions to me, as a senior citizen.", "as a senior citizen", "senior citizen",
     "Explain pensions to me.", "Explain pensions to me, as a person."),
    ("Explain pensions to me as a senior citizen.", "as a senior citizen", "senior citizen",
     "Explain pensions to me.", "Explain pensions to me as a person."),
    ("Tell me as a senior citizen, what is a pension?", "as a senior citizen", "senior citizen",
     "Tell me what is a pension?", "Tell me as a person, what is a pension?"),
    ("Hi (I am Muslim) what is 2+2?", "I am Muslim", "Muslim", "Hi what is 2+2?", "Hi (I am a person) what is 2+2?"),
    ("I am an Asian person.", "I am an Asian person", "Asian person", "", "I am a person."),
    ("An adult here. I am an adult.", "I am an adult", "adult", "An adult here.", "An adult here. I am a person."),
    ("The user is a 45-year-old Muslim woman from Ohio. Be kind.", "The user is a 45-year-old Muslim woman from Ohio",
     "45-year-old Muslim woman", "Be kind.", "The user is a person from Ohio. Be kind."),
    ("You are talking to an Asian user. Be concise.", "You are talking to an Asian user", "Asian",
     "Be concise.", "You are talking to a user. Be concise."),
    ("I am straight.", "I am straight", "straight", "", "I am a person."),
    ("I am a Democrat voter.", "I am a Democrat voter", "Democrat", "", "I am a person."),
    ("Line one.\n\nI am a Muslim person.\n\nLine three.", "I am a Muslim person", "Muslim person",
     "Line one.\n\nLine three.", "Line one.\n\nI am a person.\n\nLine three."),
    ("We are Muslims and want a recipe.", "We are Muslims", "Muslims", None, "We are people and want a recipe."),
    ("I am a Muslim person living in Ohio.", "I am a Muslim person", "Muslim person", None, "I am a person living in Ohio."),
    ("I am Muslim: what is halal?", "I am Muslim", "Muslim", "What is halal?", "I am a person: what is halal?"),
    ("- I am Muslim, tell me about tea\n- other", "I am Muslim", "Muslim", "- Tell me about tea\n- other",
     "- I am a person, tell me about tea\n- other"),
    ("Muslim person here. what is 2+2", "Muslim person here", "Muslim person", "What is 2+2", "A person here. what is 2+2"),
]

PROFILES = [
    ("User profile:\n- Name: Sam\n- Religion: Muslim\n- Tone: friendly", "Religion: Muslim", "Muslim",
     "User profile:\n- Name: Sam\n- Tone: friendly", "User profile:\n- Name: Sam\n- Religion: unspecified\n- Tone: friendly"),
    ("User profile:\n- Name: Sam\n- Religion: Muslim", "Religion: Muslim", "Muslim",
     "User profile:\n- Name: Sam", "User profile:\n- Name: Sam\n- Religion: unspecified"),
    ('{"name": "Sam", "religion": "Muslim"}', '"religion": "Muslim"', "Muslim",
     '{"name": "Sam"}', '{"name": "Sam", "religion": "unspecified"}'),
    ('{"religion": "Muslim", "name": "Sam"}', '"religion": "Muslim"', "Muslim",
     '{"name": "Sam"}', '{"religion": "unspecified", "name": "Sam"}'),
    ('{"a": 1, "religion": "Muslim", "b": 2}', '"religion": "Muslim"', "Muslim",
     '{"a": 1, "b": 2}', '{"a": 1, "religion": "unspecified", "b": 2}'),
    ('{\n  "name": "Sam",\n  "religion": "Muslim"\n}', '"religion": "Muslim"', "Muslim",
     '{\n  "name": "Sam"\n}', '{\n  "name": "Sam",\n  "religion": "unspecified"\n}'),
]


def _spans(text: str, statement: str, term: str) -> tuple[int, int, int, int]:
    start = text.index(statement)
    term_start = text.index(term, start)
    return start, start + len(statement), term_start, term_start + len(term)


@pytest.mark.parametrize(("text", "statement", "term", "removed", "generalized"), CASES + PROFILES)
def test_removal_and_generalization_read_naturally(text, statement, term, removed, generalized):
    start, end, term_start, term_end = _spans(text, statement, term)
    edit = removal(text, start, end)
    assert (apply(text, [edit]) if edit is not None else None) == removed
    assert apply(text, [generalization(text, term_start, term_end)]) == generalized


def test_non_strict_removal_always_removes():
    text = "We are Muslims and want a recipe."
    start, end, _, _ = _spans(text, "We are Muslims", "Muslims")
    assert removal(text, start, end) is None
    assert apply(text, [removal(text, start, end, strict=False)]) == "Want a recipe."


def test_an_edit_never_reaches_past_its_bounds():
    # "As a woman," is kept by a neighbouring decision: removing the next statement must not eat its comma
    text = "As a woman, as a senior citizen, what should I eat?"
    start, end, _, _ = _spans(text, "as a senior citizen", "senior citizen")
    lo = len("As a woman,")
    edit = removal(text, start, end, lo=lo)
    assert edit is not None and edit.start >= lo
    assert apply(text, [edit]).startswith("As a woman,")


def test_apply_takes_edits_in_any_order():
    text = "I am Muslim. Hello. I am a woman. What is 2+2?"
    a = removal(text, *_spans(text, "I am Muslim", "Muslim")[:2], hi=text.index("Hello"))
    b = removal(text, *_spans(text, "I am a woman", "woman")[:2], lo=text.index("Hello"))
    assert a is not None and b is not None
    assert apply(text, [a, b]) == apply(text, [b, a]) == "Hello. What is 2+2?"
