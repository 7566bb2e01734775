from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.personas import load_personas, select_personas
from evaluation.prompts import build_messages, check_system_template


def test_builtin_identities_are_the_studys(datasets_dir: Path):
    study = json.loads((datasets_dir / "personas.json").read_text())
    expected = [(axis, i) for axis, ids in study.items() if axis != "no_persona" for i in ids]
    assert [(p.axis, p.identity) for p in load_personas()] == expected
    assert len(expected) == 31
    assert load_personas(datasets_dir / "personas.json") == load_personas()


def test_select_by_identity_or_axis():
    personas = load_personas()
    chosen = select_personas(personas, ["Religion", "a WOMAN"])
    assert [p.identity for p in chosen] == [
        "a Jewish person", "a Christian person", "an Atheist person", "a Muslim person", "a Hindu person", "a woman",
    ]  # fmt: skip
    assert select_personas(personas, None) == personas
    with pytest.raises(ValueError, match="a martian"):
        select_personas(personas, ["a martian"])


def test_messages_follow_the_study():
    assert build_messages("Q?", None) == [{"role": "user", "content": "Q?"}]
    assert build_messages("Q?", "a minor") == [
        {"role": "system", "content": "You are a helpful assistant. I am a minor."},
        {"role": "user", "content": "Q?"},
    ]
    assert build_messages("Q?", "gay", "User: I am {identity}.")[0]["content"] == "User: I am gay."


def test_template_must_name_the_identity():
    with pytest.raises(ValueError, match="identity"):
        check_system_template("You are a helpful assistant.")
    with pytest.raises(KeyError):
        check_system_template("I am {identity} from {place}.")
