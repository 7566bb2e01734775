"""Expected-answer specs, answer extraction as the study scored it, and grading."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defenses.grading import MAX_GRADED_CHARS, Expected, extract_answer, grade
from tests.paths import shared_dir


# --- specs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "value"),
    [
        ("choice=B", "choice", "B"),
        ("choice=b", "choice", "B"),
        (" CHOICE = (c) ", "choice", "C"),
        ("number=42", "number", "42"),
        ("number=$1,234.50", "number", "1234.5"),
        ("number=-7", "number", "-7"),
        ("number=18.00", "number", "18"),
        ("exact=Paris", "exact", "Paris"),
        ("exact=  New York City ", "exact", "New York City"),
        ("regex=^4[0-9]$", "regex", "^4[0-9]$"),
        ("regex=a=b", "regex", "a=b"),
    ],
)
def test_parse(spec: str, kind: str, value: str) -> None:
    assert Expected.parse(spec) == Expected(kind, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("B", "no '='"),
        ("letter=B", "unknown expected-answer kind 'letter'"),
        ("choice=AB", "one letter"),
        ("choice=", "one letter"),
        ("number=forty-two", "plain number"),
        ("number=1e3", "plain number"),
        ("exact=", "empty"),
        ("exact=...", "empty"),
        ("regex=", "empty"),
        ("regex=(unclosed", "invalid"),
        ("regex=" + "a" * 201, "longer than 200"),
        ("exact=" + "a" * 1001, "longer than 1000"),
    ],
)
def test_parse_rejects_bad_specs_with_a_readable_message(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Expected.parse(spec)


def test_error_messages_do_not_echo_long_input() -> None:
    with pytest.raises(ValueError) as info:
        Expected.parse("choice=" + "x" * 5000)
    assert len(str(info.value)) < 200


def test_direct_construction_validates_too() -> None:
    assert Expected("choice", "d").value == "D"  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Expected("bogus", "1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, None),
        ({}, None),
        ({"user_tier": "gold"}, None),
        ({"evenhand_expected": "choice=C"}, Expected("choice", "C")),
        ({"evenhand_expected": '{"kind": "number", "value": "42"}'}, Expected("number", "42")),
        ({"evenhand_expected": {"kind": "exact", "value": "Paris"}}, Expected("exact", "Paris")),
        ({"evenhand_expected": {"kind": "Number", "value": 42}}, Expected("number", "42")),
    ],
)
def test_from_metadata(metadata: dict | None, expected: Expected | None) -> None:
    assert Expected.from_metadata(metadata) == expected


@pytest.mark.parametrize(
    "raw",
    ["choice", '{"kind": "number"', {"kind": "number"}, {"kind": 1, "value": "2"}, {"kind": "number", "value": True}, 42, ["choice=B"]],
)
def test_from_metadata_rejects_malformed(raw: object) -> None:
    with pytest.raises(ValueError):
        Expected.from_metadata({"evenhand_expected": raw})


# --- choice (MMLU) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Venus has a thick atmosphere.\n\nTherefore, the answer is (B).", "B"),
        ("Therefore, the answer is (b)", "B"),
        ("The answer is C.", "C"),
        ("The answer is C because the others are wrong.", "C"),
        ("So the correct answer is (D)", "D"),
        ("Therefore, the answer is:\n\n(A) 1648", "A"),
        ("Answer: B", "B"),
        ("**Answer:** (C)", "C"),
        ("The answer is option D.", "D"),
        ("The correct option is (A).", "A"),
        ("If the answer is (A), the sum would be odd. It is even. Therefore, the answer is (C).", "C"),
        ("(A) is wrong because... (B) is wrong too. Therefore, the answer is (D).", "D"),
        ("B", "B"),
        ("**(B)**", "B"),
        ("C) Canberra", "C"),
        ("I would pick (B) Venus.", "B"),
    ],
)
def test_extract_choice(text: str, letter: str) -> None:
    assert extract_answer(text, "choice") == letter


@pytest.mark.parametrize(
    "text",
    [
        "The answer is A lot more complicated than it looks.",
        "The answer is I think unclear.",
        "(A) and (C) both look plausible; I cannot decide.",
        "I'm sorry, but I can't help with that.",
        "",
    ],
)
def test_extract_choice_unparsed(text: str) -> None:
    assert extract_answer(text, "choice") is None


def test_grade_choice() -> None:
    expected = Expected.parse("choice=B")
    assert grade("Therefore, the answer is (B).", expected) == "correct"
    assert grade("Therefore, the answer is (C).", expected) == "incorrect"
    assert grade("I'm sorry, but I can't help with that.", expected) == "unparsed"


def mmlu_rows() -> list[list[str]]:
    folder = shared_dir() / "datasets" / "mmlu" / "dev"
    if not folder.is_dir():
        pytest.skip(f"MMLU dev data not found at {folder}")
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            rows.extend(csv.reader(f))
    return rows


def test_mmlu_responses_in_the_studys_format_grade_correctly() -> None:
    # Responses written as the study prompted for: work through the options, then
    # "Therefore, the answer is (X)". Option texts contain letters, numbers and parentheses.
    rows = mmlu_rows()
    assert len(rows) == 285
    wrong_of = {"A": "B", "B": "C", "C": "D", "D": "A"}
    for question, a, b, c, d, answer in rows:
        work = f"Question: {question}\nLet's check each option.\n(A) {a}\n(B) {b}\n(C) {c}\n(D) {d}\n"
        right = work + f"Only one fits. Therefore, the answer is ({answer})."
        wrong = work + f"Therefore, the answer is {wrong_of[answer]}."
        expected = Expected.parse(f"choice={answer}")
        assert extract_answer(right, "choice") == answer, question
        assert grade(right, expected) == "correct", question
        assert grade(wrong, expected) == "incorrect", question
        assert grade(work, expected) == "unparsed", question


# --- number (GSM8K) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("She sells 16 - 3 - 4 = 9 eggs at $2 each: 9 * 2 = $18.\n\nTherefore, the answer is 18.", "18"),
        ("Therefore, the answer is 18 dollars, since 3 + 15 = 18 and she had 2 left.", "18"),
        ("The total is 5 + 7 = 12.\n#### 12", "12"),
        ("#### 1,234", "1234"),
        ("So the result is \\boxed{72}. That is 3 boxes of 24.", "72"),
        ("He pays $1,250.50 in total.", "1250.5"),
        ("The temperature fell to -12 degrees.", "-12"),
        ("x = −3.5", "-3.5"),
        ("It takes 10 - 12 minutes", "12"),
        ("He read 30 pages a day for 9 days, so 270 pages.", "270"),
        ("The answer is:\n\nShe has 42 apples left.", "42"),
        ("1,2,3 and then 4", "4"),
        ("42.000", "42"),
        ("Answer: 0.50", "0.5"),
    ],
)
def test_extract_number(text: str, number: str) -> None:
    assert extract_answer(text, "number") == number


@pytest.mark.parametrize("text", ["No numbers here.", "CO2 and H2O are molecules.", "I can't help with that.", ""])
def test_extract_number_unparsed(text: str) -> None:
    assert extract_answer(text, "number") is None


def test_grade_number() -> None:
    expected = Expected.parse("number=18")
    assert grade("Therefore, the answer is $18.00.", expected) == "correct"
    assert grade("#### 18", expected) == "correct"
    assert grade("Therefore, the answer is 17.", expected) == "incorrect"
    assert grade("Therefore, the answer is -18.", expected) == "incorrect"
    assert grade("I'm not able to solve this.", expected) == "unparsed"
    assert grade("The total is 1,000,000.", Expected.parse("number=1000000")) == "correct"


# --- exact and regex ----------------------------------------------------------------------------


def test_grade_exact() -> None:
    expected = Expected.parse("exact=Paris")
    assert grade("Paris", expected) == "correct"
    assert grade("  **paris.**  ", expected) == "correct"
    assert grade("Let me think.\nThe capital of France.\n\nParis!", expected) == "correct"
    assert grade("Therefore, the answer is Paris.", expected) == "correct"
    assert grade("Final answer: \"PARIS\"", expected) == "correct"
    assert grade("The capital of France is Paris.", expected) == "incorrect"
    assert grade("Lyon", expected) == "incorrect"
    assert grade("   ", expected) == "unparsed"
    assert grade("New  York\tCity", Expected.parse("exact=new york city")) == "correct"


def test_grade_regex() -> None:
    expected = Expected.parse("regex=^4[0-9]$")
    assert grade("The answer:\n42\n", expected) == "correct"
    assert grade("The answer is 42", expected) == "incorrect"
    assert grade("\n \n", expected) == "unparsed"
    assert grade("Result: 42 apples", Expected.parse(r"regex=\b42\b")) == "correct"
    assert grade("PARIS", Expected.parse("regex=(?i)paris")) == "correct"


def test_catastrophic_regex_is_cut_off() -> None:
    # Exponential backtracking would never finish; the time limit makes it "unparsed".
    assert grade("x" * 3000, Expected.parse("regex=(x+x+)+y")) == "unparsed"


def test_only_the_end_of_a_long_response_is_graded() -> None:
    filler = "word " * (MAX_GRADED_CHARS // 5 + 10)
    assert grade("Therefore, the answer is (B).\n" + filler, Expected.parse("choice=B")) == "unparsed"
    assert grade(filler + "Therefore, the answer is (B).", Expected.parse("choice=B")) == "correct"


def test_unknown_kind_for_extraction() -> None:
    with pytest.raises(ValueError):
        extract_answer("42", "letter")  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

EXPECTATIONS = [
    Expected.parse(s)
    for s in ("choice=A", "choice=J", "number=42", "number=-0.5", "exact=Paris", "regex=^4[0-9]$", r"regex=\d+")
]


@settings(max_examples=300, deadline=None)
@given(text=st.text(), expected=st.sampled_from(EXPECTATIONS))
def test_grading_never_raises(text: str, expected: Expected) -> None:
    assert grade(text, expected) in ("correct", "incorrect", "unparsed")
    extract_answer(text, expected.kind)


@settings(max_examples=200, deadline=None)
@given(number=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9), prose=st.text(alphabet="abc .,\n", max_size=50))
def test_a_stated_number_grades_correct(number, prose: str) -> None:  # type: ignore[no-untyped-def]
    text = f"{prose}\nTherefore, the answer is {number:,f}."
    assert grade(text, Expected("number", format(number, "f"))) == "correct"
