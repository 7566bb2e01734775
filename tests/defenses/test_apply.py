"""apply_defenses: modes, arms, ordering, and the fast path for requests without an identity."""

from __future__ import annotations

from defenses.apply import apply_defenses
from defenses.instructions import EQUAL_TREATMENT_TEXT, IDENTITY_LEAK_GUARD_TEXT
from defenses.types import EMPTY_PERSONA
from tests.defenses.decisions import decision
from tests.defenses.persona_spans import app_asserted, muslim_study_request, persona, request, stated

DEFAULT_DEFENSES = [
    {"name": "neutralize_system_prompt"},
    {"name": "equal_treatment"},
    {"name": "identity_leak_guard"},
]


def study_request():
    return muslim_study_request("what is 17*23?")


def test_enforce_rewrites_then_adds_instructions():
    req, p = study_request()
    before = req.to_json()
    out = apply_defenses(req, p, decision(defenses=DEFAULT_DEFENSES))
    assert out.changed is True
    assert [m.content for m in out.request.messages] == [
        f"You are a helpful assistant.\n\n{EQUAL_TREATMENT_TEXT}\n\n{IDENTITY_LEAK_GUARD_TEXT}",
        "As a Muslim, what is 17*23?",
    ]
    assert [(a.defense, a.what) for a in out.actions] == [
        ("neutralize_system_prompt", "removed"),
        ("equal_treatment", "added"),
        ("identity_leak_guard", "added"),
    ]
    # what is left of the identity, pointing into the forwarded text
    (left,) = out.persona.attributes
    assert out.request.messages[left.message_index].content[left.start : left.end] == "As a Muslim"  # type: ignore[index]
    assert req.to_json() == before


def test_rewrites_run_before_instructions_whatever_the_file_order():
    req, p = study_request()
    reordered = [{"name": "equal_treatment", "position": "system_start"}, {"name": "neutralize_system_prompt"}]
    out = apply_defenses(req, p, decision(defenses=reordered))
    assert out.request.messages[0].content == f"{EQUAL_TREATMENT_TEXT}\n\nYou are a helpful assistant."
    assert [a.defense for a in out.actions] == ["neutralize_system_prompt", "equal_treatment"]


def test_monitor_records_but_forwards_the_original():
    req, p = study_request()
    out = apply_defenses(req, p, decision(mode="monitor", defenses=DEFAULT_DEFENSES))
    assert out.request is req
    assert out.changed is False
    assert out.persona is p
    assert [a.what for a in out.actions] == ["removed", "added", "added"]


def test_off_does_nothing():
    req, p = study_request()
    out = apply_defenses(req, p, decision(mode="off", defenses=DEFAULT_DEFENSES))
    assert out == (req, (), False, p)


def test_control_arm_is_forwarded_untouched():
    req, p = study_request()
    control = decision(rollout=0.0, defenses=DEFAULT_DEFENSES)
    assert control.arm == "control"
    out = apply_defenses(req, p, control)
    assert out.request is req and out.actions == () and out.changed is False


def test_no_identity_no_defenses_unless_always():
    req = request({"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 17*23?"})
    out = apply_defenses(req, EMPTY_PERSONA, decision(defenses=DEFAULT_DEFENSES))
    assert out.request is req and out.actions == () and out.changed is False and out.persona is EMPTY_PERSONA
    always = apply_defenses(req, EMPTY_PERSONA, decision(apply_always=True, defenses=DEFAULT_DEFENSES))
    assert always.changed is True
    assert [a.what for a in always.actions] == ["added", "added"]
    assert always.request.messages[0].content.startswith("Be brief.\n\n")  # type: ignore[union-attr]


def test_app_asserted_identity_gets_the_instructions():
    req = request({"role": "user", "content": "What is 17*23?"})
    out = apply_defenses(req, persona(app_asserted("age", "senior")), decision(defenses=DEFAULT_DEFENSES))
    assert [(m.role, m.content) for m in out.request.messages] == [
        ("system", f"{EQUAL_TREATMENT_TEXT}\n\n{IDENTITY_LEAK_GUARD_TEXT}"),
        ("user", "What is 17*23?"),
    ]


def test_a_policy_with_no_defenses_changes_nothing():
    req, p = study_request()
    out = apply_defenses(req, p, decision(defenses=[]))
    assert out.request is req and out.actions == ()


def test_response_defenses_do_not_touch_the_request():
    req, p = study_request()
    out = apply_defenses(req, p, decision(defenses=[{"name": "refusal_retry"}, {"name": "counterfactual_probe"}]))
    assert out.request is req and out.actions == ()


def test_strict_chain_on_a_multi_turn_request():
    req = request(
        {"role": "system", "content": "I am a senior citizen."},
        {"role": "user", "content": "As a senior citizen, what is the boiling point of water?"},
        {"role": "assistant", "content": "100°C at sea level."},
        {"role": "user", "content": "Thanks. How do pensions work?"},
    )
    p = persona(
        stated(req, 0, "I am a senior citizen", "senior citizen", "age", "senior"),
        stated(req, 1, "As a senior citizen", "senior citizen", "age", "senior"),
    )
    strict = decision(
        defenses=[
            {"name": "neutralize_system_prompt"},
            {"name": "neutralize_user_identity"},
            {"name": "equal_treatment", "text": "Same for all."},
            {"name": "safety_reminder", "text": "Be responsible.", "position": "user_end"},
        ]
    )
    out = apply_defenses(req, p, strict)
    # the system message held only the identity: dropped; the user's identity is needed (pensions), so kept
    assert [(m.role, m.content) for m in out.request.messages] == [
        ("system", "Same for all."),
        ("user", "As a senior citizen, what is the boiling point of water?"),
        ("assistant", "100°C at sea level."),
        ("user", "Thanks. How do pensions work?\n\nBe responsible."),
    ]
    assert [(a.defense, a.what, a.message_index) for a in out.actions] == [
        ("neutralize_system_prompt", "removed", 0),
        ("neutralize_system_prompt", "dropped_message", 0),
        ("neutralize_user_identity", "kept", 1),
        ("equal_treatment", "added", -1),  # a system message of our own: the client's was dropped
        ("safety_reminder", "added", 3),  # indices are the client's
    ]
    (left,) = out.persona.attributes
    assert out.request.messages[left.message_index].content[left.start : left.end] == "As a senior citizen"  # type: ignore[index]
