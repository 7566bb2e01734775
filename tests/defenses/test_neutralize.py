"""neutralize_system_prompt, neutralize_user_identity and neutral_copy on realistic requests: exactly what
changes, and that nothing else does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defenses.neutralize import (
    NeutralizeSystemPromptParams,
    NeutralizeUserIdentityParams,
    neutral_copy,
    neutralize_system_prompt,
    neutralize_user_identity,
    rewrite,
)
from defenses.types import PersonaAttribute, PersonaContext
from proxy.wire import ChatRequest
from tests.defenses.persona_spans import app_asserted, identity_words, persona, request, stated, study_identities

REMOVE = NeutralizeSystemPromptParams()
GENERALIZE = NeutralizeSystemPromptParams(mode="generalize")
USER = NeutralizeUserIdentityParams()


def span_text(req: ChatRequest, a: PersonaAttribute) -> str:
    message = req.messages[a.message_index]
    text = message.content if a.part_index is None else message.content[a.part_index].text  # type: ignore[index,union-attr]
    assert isinstance(text, str)
    return text[a.start : a.end]


def assert_spans_valid(req: ChatRequest, p: PersonaContext) -> None:
    """Every remaining attribute still points at its own statement in the rewritten request."""
    for a in p.in_messages():
        assert span_text(req, a) == a.evidence


# --- the study's template --------------------------------------------------------------------------

IDENTITIES = study_identities()


def test_the_study_has_31_identities():
    assert len(IDENTITIES) == 31


@pytest.mark.parametrize(("axis", "phrase"), IDENTITIES, ids=[p for _, p in IDENTITIES])
def test_study_template_remove(axis, phrase):
    req = request(
        {"role": "system", "content": f"You are a helpful assistant. I am {phrase}."},
        {"role": "user", "content": "What is the capital of France?"},
    )
    before = req.to_json()
    p = persona(stated(req, 0, f"I am {phrase}", identity_words(phrase), axis, identity_words(phrase)))
    out = neutralize_system_prompt(req, p, REMOVE)
    assert out.request.messages[0].content == "You are a helpful assistant."
    assert out.request.messages[1] is req.messages[1]
    assert out.persona.attributes == ()
    assert [(a.defense, a.what, a.message_index, a.detail) for a in out.actions] == [
        ("neutralize_system_prompt", "removed", 0, {"axes": axis})
    ]
    assert req.to_json() == before


@pytest.mark.parametrize(("axis", "phrase"), IDENTITIES, ids=[p for _, p in IDENTITIES])
def test_study_template_generalize(axis, phrase):
    req = request({"role": "system", "content": f"You are a helpful assistant. I am {phrase}."}, {"role": "user", "content": "Hi"})
    p = persona(stated(req, 0, f"I am {phrase}", identity_words(phrase), axis, identity_words(phrase)))
    out = neutralize_system_prompt(req, p, GENERALIZE)
    assert out.request.messages[0].content == "You are a helpful assistant. I am a person."
    assert [a.what for a in out.actions] == ["generalized"]


# --- system prompts of real apps -------------------------------------------------------------------


def test_statement_between_instructions_leaves_them_intact():
    req = request(
        {"role": "system", "content": "You are a helpful assistant. I am a Muslim person. Answer briefly."},
        {"role": "user", "content": "Hi"},
    )
    p = persona(stated(req, 0, "I am a Muslim person", "Muslim person", "religion", "muslim"))
    out = neutralize_system_prompt(req, p, REMOVE)
    assert out.request.messages[0].content == "You are a helpful assistant. Answer briefly."


def test_overlapping_statements_are_removed_once():
    req = request({"role": "system", "content": "Be concise. I am a Black woman. Use metric units."}, {"role": "user", "content": "Hi"})
    race = stated(req, 0, "I am a Black woman", "Black", "race", "black")
    gender = stated(req, 0, "I am a Black woman", "woman", "gender", "woman")
    out = neutralize_system_prompt(req, persona(race, gender), REMOVE)
    assert out.request.messages[0].content == "Be concise. Use metric units."
    assert [(a.what, a.detail["axes"]) for a in out.actions] == [("removed", "race,gender")]
    generalized = neutralize_system_prompt(req, persona(race, gender), GENERALIZE)
    assert generalized.request.messages[0].content == "Be concise. I am a person. Use metric units."


def test_partly_overlapping_statements_merge():
    text = "Note: I am a Muslim woman, a senior citizen. Be brief."
    req = request({"role": "system", "content": text}, {"role": "user", "content": "Hi"})
    a = stated(req, 0, "I am a Muslim woman", "Muslim", "religion", "muslim")
    b = stated(req, 0, "woman, a senior citizen", "senior citizen", "age", "senior")
    out = neutralize_system_prompt(req, persona(a, b), REMOVE)
    assert out.request.messages[0].content == "Note: Be brief."
    assert len(out.actions) == 1


def test_third_person_app_prompt():
    req = request(
        {
            "role": "system",
            "content": "You are Acme's support bot. The user is a 45-year-old Muslim woman from Ohio. Always answer in English.",
        },
        {"role": "user", "content": "My order is late."},
    )
    statement = "The user is a 45-year-old Muslim woman from Ohio"
    attrs = (
        stated(req, 0, statement, "45-year-old", "age", "middle_aged"),
        stated(req, 0, statement, "Muslim", "religion", "muslim"),
        stated(req, 0, statement, "woman", "gender", "woman"),
    )
    assert neutralize_system_prompt(req, persona(*attrs), REMOVE).request.messages[0].content == (
        "You are Acme's support bot. Always answer in English."
    )
    assert neutralize_system_prompt(req, persona(*attrs), GENERALIZE).request.messages[0].content == (
        "You are Acme's support bot. The user is a person from Ohio. Always answer in English."
    )


def test_structured_profile():
    profile = "You are a travel assistant.\nUser profile:\n- Name: Sam\n- Religion: Muslim\n- Age: 72\n- Home airport: BOS\nKeep answers short."
    req = request({"role": "system", "content": profile}, {"role": "user", "content": "Plan a weekend in Rome."})
    attrs = (
        stated(req, 0, "Religion: Muslim", "Muslim", "religion", "muslim"),
        stated(req, 0, "Age: 72", "72", "age", "senior"),
    )
    removed = neutralize_system_prompt(req, persona(*attrs), REMOVE)
    assert removed.request.messages[0].content == (
        "You are a travel assistant.\nUser profile:\n- Name: Sam\n- Home airport: BOS\nKeep answers short."
    )
    generalized = neutralize_system_prompt(req, persona(*attrs), GENERALIZE)
    assert generalized.request.messages[0].content == (
        "You are a travel assistant.\nUser profile:\n- Name: Sam\n- Religion: unspecified\n- Age: unspecified\n"
        "- Home airport: BOS\nKeep answers short."
    )


def test_json_profile_stays_json():
    import json

    text = 'Profile: {"name": "Sam", "religion": "Muslim", "plan": "pro"}'
    req = request({"role": "system", "content": text}, {"role": "user", "content": "Hi"})
    p = persona(stated(req, 0, '"religion": "Muslim"', "Muslim", "religion", "muslim"))
    out = neutralize_system_prompt(req, p, REMOVE).request.messages[0].content
    assert json.loads(out.removeprefix("Profile: ")) == {"name": "Sam", "plan": "pro"}


def test_developer_messages_are_system_prompts_too():
    req = request({"role": "developer", "content": "Answer in French. I am a Hindu person."}, {"role": "user", "content": "Bonjour"})
    p = persona(stated(req, 0, "I am a Hindu person", "Hindu person", "religion", "hindu"))
    assert neutralize_system_prompt(req, p, REMOVE).request.messages[0].content == "Answer in French."


def test_user_messages_are_not_touched_by_the_system_prompt_defense():
    req = request({"role": "system", "content": "Be brief."}, {"role": "user", "content": "As a Muslim, what is 17*23?"})
    p = persona(stated(req, 1, "As a Muslim", "Muslim", "religion", "muslim"))
    out = neutralize_system_prompt(req, p, REMOVE)
    assert out.request is req
    assert out.persona is p
    assert out.actions == ()


# --- when a message empties --------------------------------------------------------------------------


def test_a_system_message_with_nothing_else_is_dropped_and_spans_follow():
    req = request(
        {"role": "system", "content": "I am a Muslim person."},
        {"role": "user", "content": "As a Muslim, is gelatin halal?"},
    )
    user_attr = stated(req, 1, "As a Muslim", "Muslim", "religion", "muslim")
    p = persona(stated(req, 0, "I am a Muslim person", "Muslim person", "religion", "muslim"), user_attr)
    out = neutralize_system_prompt(req, p, REMOVE)
    assert [m.role for m in out.request.messages] == ["user"]
    assert [a.what for a in out.actions] == ["removed", "dropped_message"]
    (moved,) = out.persona.attributes
    assert moved.message_index == 0
    assert_spans_valid(out.request, out.persona)


def test_the_last_message_is_never_dropped():
    req = request({"role": "system", "content": "I am a Muslim person."})
    p = persona(stated(req, 0, "I am a Muslim person", "Muslim person", "religion", "muslim"))
    out = neutralize_system_prompt(req, p, REMOVE)
    assert [m.content for m in out.request.messages] == ["I am a person."]


def test_system_content_parts_empty_part_dropped_then_message():
    req = request(
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "I am a transgender woman."},
                {"type": "text", "text": "Use British spelling."},
            ],
        },
        {"role": "system", "content": [{"type": "text", "text": "I am a Jewish person."}]},
        {"role": "user", "content": "Hi"},
    )
    p = persona(
        stated(req, 0, "I am a transgender woman", "transgender woman", "gender", "transgender_woman", part_index=0),
        stated(req, 1, "I am a Jewish person", "Jewish person", "religion", "jewish", part_index=0),
    )
    out = neutralize_system_prompt(req, p, REMOVE)
    assert out.request.model_dump(exclude_unset=True)["messages"] == [
        {"role": "system", "content": [{"type": "text", "text": "Use British spelling."}]},
        {"role": "user", "content": "Hi"},
    ]
    assert [(a.what, a.message_index) for a in out.actions] == [
        ("removed", 0),
        ("dropped_part", 0),
        ("removed", 1),
        ("dropped_message", 1),
    ]


def test_user_turn_that_would_empty_is_generalized():
    req = request(
        {"role": "user", "content": "I'm a Muslim."},
        {"role": "assistant", "content": "Nice to meet you. How can I help?"},
        {"role": "user", "content": "What is 17*23?"},
    )
    p = persona(stated(req, 0, "I'm a Muslim", "Muslim", "religion", "muslim"))
    out = neutralize_user_identity(req, p, USER)
    assert [m.content for m in out.request.messages] == ["I'm a person.", "Nice to meet you. How can I help?", "What is 17*23?"]
    assert [a.what for a in out.actions] == ["generalized"]


# --- multi-turn, tool calls, content parts, unknown fields -------------------------------------------


def test_multi_turn_with_tool_calls_only_identity_changes():
    req = request(
        {"role": "system", "content": "You are a helpful assistant. I am a senior citizen.", "name": "app"},
        {"role": "user", "content": "What's the weather in Boston?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Boston"}'}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 3}'},
        {"role": "assistant", "content": "It is 3°C."},
        {"role": "user", "content": "Should I wear a coat?"},
        tools=[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
        temperature=0.2,
    )
    before = req.model_dump(exclude_unset=True)
    p = persona(stated(req, 0, "I am a senior citizen", "senior citizen", "age", "senior"))
    out = neutralize_system_prompt(req, p, REMOVE)
    after = out.request.model_dump(exclude_unset=True)
    assert after["messages"][0] == {"role": "system", "content": "You are a helpful assistant.", "name": "app"}
    assert after["messages"][1:] == before["messages"][1:]
    assert {k: v for k, v in after.items() if k != "messages"} == {k: v for k, v in before.items() if k != "messages"}
    assert all(out.request.messages[i] is req.messages[i] for i in range(1, 6))
    assert req.model_dump(exclude_unset=True) == before


def test_user_content_parts_keep_their_image():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    req = request({"role": "user", "content": [{"type": "text", "text": "As a teenager, what is 2+2?"}, image]})
    p = persona(stated(req, 0, "As a teenager", "teenager", "age", "teenager", part_index=0))
    out = neutralize_user_identity(req, p, USER)
    assert out.request.model_dump(exclude_unset=True)["messages"][0]["content"] == [
        {"type": "text", "text": "What is 2+2?"},
        image,
    ]
    assert out.request.messages[0].content[1] is req.messages[0].content[1]  # type: ignore[index]


def test_spans_that_do_not_fit_are_left_alone():
    req = request({"role": "system", "content": "Short."}, {"role": "user", "content": "Hi"})
    bad = PersonaAttribute("religion", "muslim", "system", message_index=0, start=3, end=99, term_start=5, term_end=9)
    gone = PersonaAttribute("religion", "muslim", "system", message_index=7, start=0, end=3)
    out = neutralize_system_prompt(req, persona(bad, gone), REMOVE)
    assert out.request is req
    assert out.persona.attributes == (bad, gone)


def test_app_asserted_identities_pass_through():
    req = request({"role": "system", "content": "Hi. I am a woman."}, {"role": "user", "content": "Hi"})
    header = app_asserted("age", "senior")
    p = persona(header, stated(req, 0, "I am a woman", "woman", "gender", "woman"))
    out = neutralize_system_prompt(req, p, REMOVE)
    assert out.persona.attributes == (header,)
    assert out.request.messages[0].content == "Hi."


def test_kept_statements_keep_valid_spans_after_a_neighbour_is_removed():
    req = request(
        {"role": "user", "content": "As a Muslim, I have two questions. As a teenager, what is 17*23? And is gelatin halal?"},
    )
    religion = stated(req, 0, "As a Muslim", "Muslim", "religion", "muslim")
    age = stated(req, 0, "As a teenager", "teenager", "age", "teenager")
    out = neutralize_user_identity(req, persona(religion, age), USER)
    # gelatin/halal needs the religion; nothing needs the age
    assert out.request.messages[0].content == "As a Muslim, I have two questions. What is 17*23? And is gelatin halal?"
    assert [(a.what, a.detail["axes"]) for a in out.actions] == [("kept", "religion"), ("removed", "age")]
    assert [a.axis for a in out.persona.attributes] == ["religion"]
    assert_spans_valid(out.request, out.persona)


def test_kept_statement_after_a_removed_one_moves_with_its_text():
    req = request({"role": "user", "content": "As a teenager, I ask this. As a Muslim, is gelatin halal?"})
    age = stated(req, 0, "As a teenager", "teenager", "age", "teenager")
    religion = stated(req, 0, "As a Muslim", "Muslim", "religion", "muslim")
    out = neutralize_user_identity(req, persona(age, religion), USER)
    assert out.request.messages[0].content == "I ask this. As a Muslim, is gelatin halal?"
    assert_spans_valid(out.request, out.persona)
    assert out.persona.attributes[0].start == len("I ask this. ")


# --- neutralize_user_identity: where the identity is needed --------------------------------------------


@pytest.mark.parametrize(
    ("text", "statement", "term", "axis", "expected"),
    [
        ("As a Muslim, is gelatin halal?", "As a Muslim", "Muslim", "religion", None),
        ("As a Muslim, what is 17*23?", "As a Muslim", "Muslim", "religion", "What is 17*23?"),
        ("As a Muslim, can I eat gelatin?", "As a Muslim", "Muslim", "religion", None),
        ("As a woman, what are the symptoms of a heart attack in women?", "As a woman", "woman", "gender", None),
        ("As a woman, how do I center a div in CSS?", "As a woman", "woman", "gender", "How do I center a div in CSS?"),
        ("I am a senior citizen. Is this exercise safe for me?", "I am a senior citizen", "senior citizen", "age", None),
        ("I am a senior citizen. Translate 'good morning' into Spanish.", "I am a senior citizen", "senior citizen", "age",
         "Translate 'good morning' into Spanish."),
        ("As a gay man, how should I come out to my family?", "As a gay man", "gay", "sexuality", None),
        ("As a Republican voter, summarize this article about photosynthesis.", "As a Republican voter", "Republican",
         "political_affiliation", "Summarize this article about photosynthesis."),
        ("As a Republican voter, who should I vote for?", "As a Republican voter", "Republican", "political_affiliation", None),
        ("I'm in a wheelchair. Which museums in Paris are accessible?", "I'm in a wheelchair", "in a wheelchair",
         "disability", None),
        ("We are Muslims and want to learn Python.", "We are Muslims", "Muslims", "religion",
         "We are people and want to learn Python."),
    ],
)
def test_user_identity_kept_only_where_needed(text, statement, term, axis, expected):
    req = request({"role": "user", "content": text})
    p = persona(stated(req, 0, statement, term, axis, term.lower()))
    out = neutralize_user_identity(req, p, USER)
    if expected is None:
        assert out.request is req
        assert [(a.what, a.detail.get("reason")) for a in out.actions] == [("kept", "needed")]
        assert out.persona == p
    else:
        assert out.request.messages[0].content == expected
        assert out.persona.attributes == ()


def test_a_later_question_can_need_an_earlier_statement():
    req = request(
        {"role": "user", "content": "I'm a Muslim."},
        {"role": "assistant", "content": "Thanks for sharing. What would you like to know?"},
        {"role": "user", "content": "Is gelatin halal?"},
    )
    p = persona(stated(req, 0, "I'm a Muslim", "Muslim", "religion", "muslim"))
    out = neutralize_user_identity(req, p, USER)
    assert out.request is req
    assert [a.what for a in out.actions] == ["kept"]


def test_an_earlier_question_does_not_count():
    req = request(
        {"role": "user", "content": "Is gelatin halal?"},
        {"role": "assistant", "content": "It depends on its source."},
        {"role": "user", "content": "As a Muslim, what is 17*23?"},
    )
    p = persona(stated(req, 2, "As a Muslim", "Muslim", "religion", "muslim"))
    assert neutralize_user_identity(req, p, USER).request.messages[2].content == "What is 17*23?"


def test_one_needed_axis_keeps_the_whole_statement():
    req = request({"role": "user", "content": "As a Muslim woman, is pork halal?"})
    p = persona(
        stated(req, 0, "As a Muslim woman", "Muslim", "religion", "muslim"),
        stated(req, 0, "As a Muslim woman", "woman", "gender", "woman"),
    )
    out = neutralize_user_identity(req, p, USER)
    assert out.request is req
    assert [(a.what, a.detail["axes"]) for a in out.actions] == [("kept", "religion,gender")]


def test_extra_cues_from_the_policy():
    req = request({"role": "user", "content": "As a Muslim, what should I name my cat?"})
    p = persona(stated(req, 0, "As a Muslim", "Muslim", "religion", "muslim"))
    assert neutralize_user_identity(req, p, USER).request.messages[0].content == "What should I name my cat?"
    with_cue = NeutralizeUserIdentityParams(extra_cues={"Religion": ["cat*"]})
    assert neutralize_user_identity(req, p, with_cue).request is req


def test_generalize_mode_for_user_messages():
    req = request({"role": "user", "content": "As an Asian person, what is 17*23?"})
    p = persona(stated(req, 0, "As an Asian person", "Asian person", "race", "asian"))
    out = neutralize_user_identity(req, p, NeutralizeUserIdentityParams(mode="generalize"))
    assert out.request.messages[0].content == "As a person, what is 17*23?"


def test_system_identity_is_not_the_user_defense_s_business():
    req = request({"role": "system", "content": "I am a Muslim person. Be brief."}, {"role": "user", "content": "What is 17*23?"})
    p = persona(stated(req, 0, "I am a Muslim person", "Muslim person", "religion", "muslim"))
    out = neutralize_user_identity(req, p, USER)
    assert out.request is req and out.actions == ()


# --- neutral_copy ---------------------------------------------------------------------------------------


def test_neutral_copy_removes_identity_everywhere():
    req = request(
        {"role": "system", "content": "You are a helpful assistant. I am a Christian person."},
        {"role": "user", "content": "As a Christian, is gelatin halal?"},
        {"role": "assistant", "content": "Gelatin can be halal if..."},
        {"role": "user", "content": "And as a man, what is 17*23?"},
    )
    before = req.to_json()
    p = persona(
        stated(req, 0, "I am a Christian person", "Christian person", "religion", "christian"),
        stated(req, 1, "As a Christian", "Christian", "religion", "christian"),
        stated(req, 3, "as a man", "man", "gender", "man"),
    )
    copy = neutral_copy(req, p)
    assert [m.content for m in copy.messages] == [
        "You are a helpful assistant.",
        "Is gelatin halal?",
        "Gelatin can be halal if...",
        "And what is 17*23?",
    ]
    assert req.to_json() == before


def test_neutral_copy_without_identity_is_the_request():
    req = request({"role": "user", "content": "Hi"})
    assert neutral_copy(req, PersonaContext()) is req


# --- properties over random conversations ------------------------------------------------------------

STATEMENTS = [
    ("I am a Muslim person", "Muslim person", "religion"),
    ("As a senior citizen", "senior citizen", "age"),
    ("I'm a Black woman", "Black woman", "race"),
    ("The user is a gay man", "gay man", "sexuality"),
    ("Religion: Hindu", "Hindu", "religion"),
]
FILLER = ["Be brief.", "What is 17*23?", "Answer in French,", "please", "- Tone: warm", "(thanks)", "\n", "Is gelatin halal?"]
SEPARATORS = [" ", ". ", ", ", "\n", "\n\n", ": "]


@st.composite
def conversations(draw):
    messages, attributes = [], []
    for index in range(draw(st.integers(1, 4))):
        role = draw(st.sampled_from(["system", "user", "assistant", "developer"]))
        pieces = draw(st.lists(st.one_of(st.sampled_from(FILLER), st.sampled_from(STATEMENTS)), min_size=1, max_size=6))
        text, spans = "", []
        for piece in pieces:
            if text:
                text += draw(st.sampled_from(SEPARATORS))
            if isinstance(piece, tuple):
                statement, term, axis = piece
                start = len(text)
                text += statement
                term_start = start + statement.index(term)
                spans.append((start, len(text), term_start, term_start + len(term), axis, statement))
            else:
                text += piece
        messages.append({"role": role, "content": text})
        for start, end, ts, te, axis, statement in spans:
            source = "user" if role == "user" else "system"
            attributes.append(PersonaAttribute(axis, axis, source, index, None, start, end, ts, te, statement))
    choices = draw(st.lists(st.sampled_from(["remove", "generalize", "keep", None]), min_size=len(attributes), max_size=len(attributes)))
    return request(*messages), PersonaContext(tuple(attributes)), choices


@settings(max_examples=200, deadline=None)
@given(conversations())
def test_any_rewrite_leaves_valid_spans_and_no_empty_turns(case):
    req, p, choices = case
    before = req.to_json()
    choice_of = {a: c for a, c in zip(p.attributes, choices, strict=True)}

    def select(index, message, group):
        (a,) = group  # generated statements never overlap: one attribute per group
        return choice_of[a]

    out = rewrite(req, p, "test", select)
    assert req.to_json() == before
    assert_spans_valid(out.request, out.persona)
    assert len(out.request.messages) >= 1
    # system messages left empty are dropped; conversation turns never are, so they line up
    turns = [m for m in req.messages if m.role not in ("system", "developer")]
    new_turns = [m for m in out.request.messages if m.role not in ("system", "developer")]
    for original, message in zip(turns, new_turns, strict=True):
        if original.content.strip():  # type: ignore[union-attr]
            assert message.content.strip()  # type: ignore[union-attr]
    # exactly the statements chosen for rewriting are gone; the others remain, in order
    kept = [(a.axis, a.evidence) for a in p.attributes if choice_of[a] in (None, "keep")]
    assert [(a.axis, a.evidence) for a in out.persona.attributes] == kept
    rewritten = sum(1 for a in p.attributes if choice_of[a] in ("remove", "generalize"))
    assert sum(1 for a in out.actions if a.what in ("removed", "generalized")) == rewritten
