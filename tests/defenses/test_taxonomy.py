"""The taxonomy: built-in axes and values, the study's phrases, and users' own files merged over it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from defenses.persona import PersonaDetector
from defenses.taxonomy import Taxonomy, load_taxonomy
from tests.paths import shared_dir

SHARED = shared_dir()
PERSONAS = SHARED / "datasets" / "personas.json"

STUDY_KEYS = {
    "disability": ("physically_disabled", "able_bodied"),
    "religion": ("jewish", "christian", "atheist", "muslim", "hindu"),
    "race": ("african", "hispanic", "asian", "caucasian", "african_american", "native_american"),
    "gender": ("man", "woman", "transgender_man", "transgender_woman", "non_binary"),
    "political_affiliation": ("democrat", "republican", "independent"),
    "age": ("minor", "teenager", "adult", "middle_aged", "senior_citizen"),
    "sexuality": ("straight", "gay", "lesbian", "bisexual", "asexual"),
}


@pytest.fixture(scope="module")
def builtin() -> Taxonomy:
    return load_taxonomy()


def test_builtin_has_the_studys_axes_and_keys(builtin: Taxonomy) -> None:
    assert builtin.axes() == tuple(STUDY_KEYS)
    for axis, values in STUDY_KEYS.items():
        assert builtin.values(axis) == values
        for value in values:
            assert builtin.has(axis, value)
    assert sum(len(v) for v in STUDY_KEYS.values()) == 31
    assert not builtin.has("religion", "buddhist")
    assert not builtin.has("nationality", "french")


def test_every_study_phrase_names_exactly_one_value(builtin: Taxonomy) -> None:
    personas = json.loads(PERSONAS.read_text())
    labels = {builtin.axis(a).label: a for a in builtin.axes()}
    for axis_label, phrases in personas.items():
        if axis_label == "no_persona":
            continue
        axis = labels[axis_label]
        for phrase in phrases:
            matches = [v for v in builtin.values(axis) if builtin.value(axis, v).phrase == phrase]
            assert len(matches) == 1, (axis_label, phrase)


def test_age_bands_are_contiguous_and_documented(builtin: Taxonomy) -> None:
    bands = sorted((lo, hi, v) for lo, hi, v in builtin.age_bands())
    assert [b[2] for b in bands] == ["minor", "teenager", "adult", "middle_aged", "senior_citizen"]
    for (_, hi, _), (lo, _, _) in zip(bands, bands[1:]):
        assert lo == hi + 1


def write(tmp_path: Path, text: str, name: str = "extra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_file_adds_axes_values_and_words(tmp_path: Path) -> None:
    extra = write(tmp_path, """
axes:
  nationality:
    label: Nationality
    keys: {en: [nationality, citizenship]}
    values:
      french:
        phrase: a French person
        terms: {en: [French, Frenchman, Frenchwoman], fr: [français, française]}
      brazilian:
        terms: [Brazilian]
  religion:
    values:
      buddhist:
        label: Buddhist
        terms: [Buddhist]
      jewish:
        terms: {en: [Jewish-born]}
idioms:
  en: ["french (fries|toast|press)"]
""")
    taxonomy = Taxonomy.load(extra)
    assert taxonomy.axes()[-1] == "nationality"
    assert taxonomy.values("nationality") == ("french", "brazilian")
    assert taxonomy.values("religion")[-1] == "buddhist"
    assert taxonomy.value("nationality", "brazilian").label == "Brazilian"
    assert taxonomy.value("nationality", "brazilian").phrase == "Brazilian"
    jewish_terms = {t.text for t in taxonomy.value("religion", "jewish").terms["en"]}
    assert {"Jewish", "Jew", "Jewish-born"} <= jewish_terms
    assert taxonomy.sources[-1] == str(extra)

    detector = PersonaDetector(taxonomy)
    found = {(a.axis, a.value) for a in detector.detect_text("I'm a Buddhist and I'm French, living in Lyon.")}
    assert found == {("religion", "buddhist"), ("nationality", "french")}
    assert {(a.axis, a.value) for a in detector.detect_text("Je suis française.")} == {("nationality", "french")}
    assert detector.detect_text("I'm a French toast lover.") == ()
    profile = detector.detect_text("User profile: nationality: Brazilian, age: 30", "system")
    assert {(a.axis, a.value) for a in profile} == {("nationality", "brazilian"), ("age", "adult")}


def test_the_builtin_taxonomy_is_unchanged_by_loading_a_users_file(tmp_path: Path) -> None:
    Taxonomy.load(write(tmp_path, "axes:\n  religion:\n    values:\n      buddhist: {terms: [Buddhist]}\n"))
    assert not load_taxonomy().has("religion", "buddhist")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("axes: [1, 2", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "empty"),
        ("axes:\n  Nationality:\n    values: {french: {}}\n", "snake_case"),
        ("axes:\n  nationality:\n    label: Nationality\n", "at least one value"),
        ("axes:\n  religion:\n    values:\n      buddhist: {terms: [yes]}\n", "quote words"),
        ("axes:\n  religion:\n    values:\n      buddhist: {terms: {it: [buddista]}}\n", "unsupported language 'it'"),
        ("axes:\n  religion:\n    values:\n      buddhist: {colour: blue}\n", "unknown field"),
        ("axes:\n  religion:\n    values:\n      buddhist: {ages: [1, 2]}\n", "only allowed on the 'age' axis"),
        ("axes:\n  age:\n    values:\n      toddler: {ages: [4, 1]}\n", "lowest <= highest"),
        ("axes:\n  religion:\n    values:\n      buddhist: {terms: [Muslim]}\n", "term 'Muslim' (en) is given for both"),
        ("axes:\n  religion:\n    values:\n      buddhist: {statements: [\"practice (zen\"]}\n", "parentheses"),
        ("axis: {}\n", "unknown top-level field"),
        ("version: 2\naxes: {}\n", "version must be 1"),
        ("axes:\n  religion:\n    values:\n      buddhist: {terms: {en: [{term: zen, before_person: often}]}}\n",
         "before_person must be true or false"),
        ("axes:\n  religion:\n    values:\n      buddhist: {terms: {en: [{term: zen, before_noun: true}]}}\n", "before_person"),
    ],
)
def test_a_malformed_users_file_is_a_value_error_naming_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        Taxonomy.load(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_a_missing_users_file_is_a_value_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ValueError, match="nope.yaml"):
        load_taxonomy(missing)


def test_from_mapping_builds_a_taxonomy_of_its_own() -> None:
    taxonomy = Taxonomy.from_mapping({"axes": {"diet": {"values": {"vegan": {"terms": ["vegan"]}}}}})
    assert taxonomy.axes() == ("diet",)
    assert taxonomy.has("diet", "vegan")
    assert {(a.axis, a.value) for a in PersonaDetector(taxonomy).detect_text("I'm vegan.")} == {("diet", "vegan")}
