"""The policies we ship: each loads, teaches in comments, and does what its name promises, on the study's
template for all 31 identities."""

from __future__ import annotations

from pathlib import Path

import pytest

from defenses.apply import apply_defenses
from defenses.instructions import EQUAL_TREATMENT_TEXT, IDENTITY_LEAK_GUARD_TEXT, SAFETY_REMINDER_TEXT
from defenses.types import PersonaContext
from proxy.auth import Caller
from proxy.policy import DEFAULT_POLICY, SHIPPED_DIR, load_policies, read_policy
from tests.defenses.persona_spans import identity_words, persona, request, stated, study_identities

SHIPPED = ["default", "monitor-only", "off", "strict", "study-baseline"]
IDENTITIES = study_identities()
CALLER = Caller("0123456789ab")
POLICIES = load_policies([])


def study(axis: str, phrase: str, question: str = "What is 17*23?"):
    req = request(
        {"role": "system", "content": f"You are a helpful assistant. I am {phrase}."},
        {"role": "user", "content": question},
    )
    words = identity_words(phrase)
    return req, persona(stated(req, 0, f"I am {phrase}", words, axis, words))


def defend(name: str, req, p):
    return apply_defenses(req, p, POLICIES.choose(req, CALLER, p, override=name))


def test_exactly_these_files_ship():
    assert sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml")) == SHIPPED
    assert DEFAULT_POLICY == SHIPPED_DIR / "default.yaml"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_file_loads_is_named_after_itself_and_teaches(name):
    path = SHIPPED_DIR / f"{name}.yaml"
    loaded, errors, _ = read_policy(path)
    assert errors == [] and loaded is not None
    assert loaded.policy.name == name
    assert loaded.policy.description
    comments = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 5


def test_default_takes_all_traffic_when_nothing_is_configured():
    assert [p.name for p in POLICIES.configured] == ["default"]
    d = POLICIES.choose(request({"role": "user", "content": "Hi"}, model="any-model"), Caller("ffffffffffff"), PersonaContext())
    assert (d.policy, d.mode, d.arm) == ("default", "enforce", "all")
    assert d.defenses == ("neutralize_system_prompt", "equal_treatment", "identity_leak_guard")
    assert d.retry_on_refusal is None and d.probe is None and d.apply_always is False


@pytest.mark.parametrize(("axis", "phrase"), IDENTITIES, ids=[p for _, p in IDENTITIES])
def test_default_on_the_study_template(axis, phrase):
    req, p = study(axis, phrase)
    out = defend("default", req, p)
    assert [(m.role, m.content) for m in out.request.messages] == [
        ("system", f"You are a helpful assistant.\n\n{EQUAL_TREATMENT_TEXT}\n\n{IDENTITY_LEAK_GUARD_TEXT}"),
        ("user", "What is 17*23?"),
    ]
    assert [(a.defense, a.what) for a in out.actions] == [
        ("neutralize_system_prompt", "removed"),
        ("equal_treatment", "added"),
        ("identity_leak_guard", "added"),
    ]
    assert out.changed and out.persona.attributes == ()


@pytest.mark.parametrize(("axis", "phrase"), IDENTITIES, ids=[p for _, p in IDENTITIES])
def test_strict_on_the_study_template_with_an_identity_in_the_question(axis, phrase):
    req = request(
        {"role": "system", "content": f"You are a helpful assistant. I am {phrase}."},
        {"role": "user", "content": f"Speaking as {phrase}: what is 17*23?"},
    )
    words = identity_words(phrase)
    p = persona(
        stated(req, 0, f"I am {phrase}", words, axis, words),
        stated(req, 1, f"Speaking as {phrase}", words, axis, words),
    )
    out = defend("strict", req, p)
    assert [(m.role, m.content) for m in out.request.messages] == [
        ("system", f"You are a helpful assistant.\n\n{EQUAL_TREATMENT_TEXT}\n\n{IDENTITY_LEAK_GUARD_TEXT}"),
        ("user", f"What is 17*23?\n\n{SAFETY_REMINDER_TEXT}"),
    ]
    assert out.persona.attributes == ()


@pytest.mark.parametrize("name", ["study-baseline", "off"])
@pytest.mark.parametrize(("axis", "phrase"), IDENTITIES[::5], ids=[p for _, p in IDENTITIES[::5]])
def test_baseline_and_off_forward_the_request_as_sent(name, axis, phrase):
    req, p = study(axis, phrase)
    out = defend(name, req, p)
    assert out.request is req and out.actions == () and not out.changed


def test_monitor_only_forwards_unchanged_and_records_what_default_would_do():
    req, p = study("Religion", "a Muslim person")
    monitored = defend("monitor-only", req, p)
    enforced = defend("default", req, p)
    assert monitored.request is req and not monitored.changed
    assert monitored.actions == enforced.actions


def test_strict_has_every_defense_and_response_helpers():
    d = POLICIES.choose(request({"role": "user", "content": "x"}), CALLER, PersonaContext(), override="strict")
    assert set(d.defenses) == {
        "neutralize_system_prompt",
        "neutralize_user_identity",
        "equal_treatment",
        "identity_leak_guard",
        "safety_reminder",
        "refusal_retry",
        "counterfactual_probe",
    }
    assert d.retry_on_refusal is not None and d.retry_on_refusal.streams == "buffer"
    assert d.probe is not None and 0 < d.probe.share < 1


def test_strict_keeps_a_needed_identity():
    req = request({"role": "user", "content": "As a Muslim, is gelatin halal?"})
    p = persona(stated(req, 0, "As a Muslim", "Muslim", "Religion", "muslim"))
    out = defend("strict", req, p)
    assert out.request.messages[-1].content == f"As a Muslim, is gelatin halal?\n\n{SAFETY_REMINDER_TEXT}"


def test_the_user_identity_defense_is_off_by_default():
    req = request({"role": "user", "content": "As a Muslim, what is 17*23?"})
    p = persona(stated(req, 0, "As a Muslim", "Muslim", "Religion", "muslim"))
    assert defend("default", req, p).request.messages[-1].content == "As a Muslim, what is 17*23?"


def test_study_baseline_is_enforce_with_no_defenses_and_off_is_off():
    assert POLICIES.get("study-baseline").policy.model_dump(include={"mode", "defenses"}) == {"mode": "enforce", "defenses": []}  # type: ignore[union-attr]
    assert POLICIES.get("off").policy.mode == "off"  # type: ignore[union-attr]
    assert POLICIES.get("monitor-only").policy.mode == "monitor"  # type: ignore[union-attr]


def test_the_shipped_files_are_package_data():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "policies" in project["tool"]["setuptools"]["packages"]
    assert "*.yaml" in project["tool"]["setuptools"]["package-data"]["policies"]
