"""Accuracy from labelled traffic: grade a response against the answer its request expected.

A request may carry its expected answer as `X-Evenhand-Expected: choice=B` (or `number=42`,
`exact=Paris`, `regex=^4[0-9]$`) or as `metadata["evenhand_expected"]` in the same string form
or as `{"kind": ..., "value": ...}`. Answers are extracted the way the study scored its runs:

- choice (MMLU): the model is asked to end with "Therefore, the answer is (X)"; the last explicit
  "answer is (X)" / "Answer: X" wins, else a lone letter choice ("(B)", "B.", a bare "B") if the
  response names exactly one.
- number (GSM8K): the last "#### N", "\\boxed{N}" or "answer is ... N", else the last number in
  the response; commas, "$" and trailing zeros do not matter, negatives and decimals do.
- exact: the explicit answer, else the last non-empty line, compared case-, whitespace- and
  trailing-punctuation-insensitively.
- regex: searched in the response (at most its last `MAX_GRADED_CHARS` characters), with `^`/`$`
  matching at line breaks; patterns are capped in length and searched with a time limit, so a
  client's catastrophic pattern costs us milliseconds, not a worker.

A response with no extractable answer (a refusal, an empty or cut-off reply) grades "unparsed".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    import regex

GraderKind = Literal["choice", "number", "exact", "regex"]
Grade = Literal["correct", "incorrect", "unparsed"]

EXPECTED_HEADER = "x-evenhand-expected"
METADATA_KEY = "evenhand_expected"

MAX_REGEX_LENGTH = 200
MAX_EXACT_LENGTH = 1000
# Answers are at the end; graders read at most this much of a response, from its end.
MAX_GRADED_CHARS = 8192
REGEX_TIMEOUT_SECONDS = 0.01

_KINDS: tuple[str, ...] = get_args(GraderKind)
_EXAMPLE = "use kind=value, e.g. choice=B, number=42, exact=Paris or regex=^4[0-9]$"

# --- choice -------------------------------------------------------------------------------------

# A letter in parentheses or brackets, or a bare capital not starting a word or a sentence
# ("The answer is A lot..." / "the answer is I think (B)" are not answers A and I).
_LETTER = (
    r"(?:\(\s*([A-Ja-j])\s*\)|\[\s*([A-Ja-j])\s*\]"
    r"|([A-J])(?![\w'’])(?![ \t]{1,3}(?!(?:because|since|as|which|and|is|with|from|for|in|on|at|by)\b)[a-z]))"
)
# Quantifiers here are bounded: unbounded neighbours ("\s*" then "[\s*]*") backtrack
# quadratically over a long run of spaces in a response.
_DECOR = r"[\s*_`\"'“”]{0,12}"
# Explicit statements, each matched where its key word starts (see _last_statement). Key words in
# any case; the letter's case matters (see _LETTER).
_CHOICE_EXPLICIT = (
    (
        ("answer",),
        re.compile(
            r"\b(?i:answer\s{0,3}(?:is|would\s+be|should\s+be|must\s+be|will\s+be|:|=|-))\s{0,3}:?" + _DECOR
            + r"(?i:option|choice)?" + _DECOR + _LETTER
        ),
    ),
    (("correct", "right", "best"), re.compile(r"\b(?i:(?:correct|right|best)\s+(?:option|choice)\s+is)\s{0,3}:?" + _DECOR + _LETTER)),
)
_CHOICE_LONE_WHOLE = re.compile(r"[\s*_`\"'(\[]*([A-Ja-j])[\s*_`\"').\]:]*")
_CHOICE_MENTION = re.compile(r"\(([A-J])\)|^[ \t*_>-]{0,8}([A-J])[.):](?:\s|$)", re.MULTILINE)

# --- number -------------------------------------------------------------------------------------

# A sign only when it touches the digits ("x = -5", but "10 - 12" is 12), thousands only in
# groups of three ("1,234"; "1,2,3" is three numbers), nothing glued to a word ("CO2").
_NUMBER = r"(?<![\w.])([-−–]?)\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d)"
_NUMBER_RE = re.compile(_NUMBER)
# _NUMBER opens with a look-behind, which stops `re` from skipping ahead; a digit search does not.
_DIGIT = re.compile(r"\d")
_NUMBER_WHOLE = re.compile(r"\s*" + _NUMBER + r"\s*%?\s*")
_NUMBER_EXPLICIT = (
    (("####",), re.compile(r"####\s{0,8}(?=[-−–$\d])")),
    (("\\boxed{",), re.compile(r"\\boxed\{")),
    (("answer",), re.compile(r"\b(?i:answer\s{0,3}(?:is|would\s+be|will\s+be|:|=))")),
)
# The last number is near the end: look there first, from a whitespace so no number is cut.
_NUMBER_TAIL = 256

# --- exact --------------------------------------------------------------------------------------

_EXACT_EXPLICIT = ((("answer",), re.compile(r"\b(?i:answer\s{0,3}(?:is|:))\s{0,16}:?[ \t]{0,8}(\S[^\n]*)")),)
# Key words tried per statement kind, from the end: answers come last, and a response repeating
# "answer" thousands of times should not cost thousands of matches.
_MAX_STATEMENT_TRIES = 64
_MAX_LINES_TRIED = 64
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_EXACT_WRAP = " \t\r\n*_`\"'“”‘’«»"
_EXACT_TRAILING = ".,;:!?"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Expected:
    """The answer a labelled request expects, and how to compare a response with it.

    Values are validated and put in canonical form on construction: choice letters upper-case,
    numbers without grouping or trailing zeros, regexes compiled (and rejected if invalid).
    """

    kind: GraderKind
    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _canonical(self.kind, self.value))

    @classmethod
    def parse(cls, spec: str) -> Expected:
        """`choice=B` -> Expected("choice", "B"); ValueError with a message fit for the client."""
        if not isinstance(spec, str):
            raise ValueError(f"expected answer must be a string: {_EXAMPLE}")
        kind, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"expected answer {_quote(spec)} has no '=': {_EXAMPLE}")
        return cls(kind.strip().lower(), value.strip())  # type: ignore[arg-type]

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Expected | None:
        """The expectation in request metadata, if any (OpenAI metadata values are strings)."""
        if not metadata:
            return None
        raw = metadata.get(METADATA_KEY)
        if raw is None:
            return None
        if isinstance(raw, str) and raw.lstrip().startswith("{"):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError(f"metadata.{METADATA_KEY} is not valid JSON") from None
        if isinstance(raw, str):
            return cls.parse(raw)
        if isinstance(raw, Mapping):
            kind, value = raw.get("kind"), raw.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(kind, str) or not isinstance(value, str):
                raise ValueError(f'metadata.{METADATA_KEY} must be "kind=value" or {{"kind": ..., "value": ...}} with string fields')
            return cls(kind.strip().lower(), value.strip())  # type: ignore[arg-type]
        raise ValueError(f'metadata.{METADATA_KEY} must be "kind=value" or {{"kind": ..., "value": ...}}')


def extract_answer(text: str, kind: GraderKind) -> str | None:
    """The response's answer as the grader of `kind` reads it, or None if it gives none."""
    text = text[-MAX_GRADED_CHARS:]
    if kind == "choice":
        return _extract_choice(text)
    if kind == "number":
        number = _extract_number(text)
        return None if number is None else _format_number(number)
    if kind == "exact":
        return _extract_exact(text)
    if kind == "regex":
        return text.strip() or None
    raise ValueError(f"unknown grader kind {_quote(kind)}: use {', '.join(_KINDS)}")


def grade(text: str, expected: Expected) -> Grade:
    text = text[-MAX_GRADED_CHARS:]
    kind = expected.kind
    if kind == "choice":
        letter = _extract_choice(text)
        if letter is None:
            return "unparsed"
        return "correct" if letter == expected.value else "incorrect"
    if kind == "number":
        number = _extract_number(text)
        if number is None:
            return "unparsed"
        return "correct" if number == Decimal(expected.value) else "incorrect"
    if kind == "exact":
        answer = _extract_exact(text)
        if answer is None:
            return "unparsed"
        return "correct" if _normalize_exact(answer) == _normalize_exact(expected.value) else "incorrect"
    if not text.strip():
        return "unparsed"
    try:
        found = _user_regex(expected.value).search(text, timeout=REGEX_TIMEOUT_SECONDS)
    except TimeoutError:
        return "unparsed"
    return "correct" if found is not None else "incorrect"


def _canonical(kind: str, value: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"unknown expected-answer kind {_quote(kind)}: {_EXAMPLE}")
    if not isinstance(value, str):
        raise ValueError(f"expected {kind} answer must be a string")
    if kind == "choice":
        m = _CHOICE_LONE_WHOLE.fullmatch(value)
        if m is None:
            raise ValueError(f"expected choice must be one letter A-J, got {_quote(value)}")
        return m.group(1).upper()
    if kind == "number":
        m = _NUMBER_WHOLE.fullmatch(value)
        if m is None:
            raise ValueError(f"expected number must be a plain number like 42, -3.5 or 1,234, got {_quote(value)}")
        return _format_number(_to_decimal(m))
    if kind == "exact":
        if not _normalize_exact(value):
            raise ValueError("expected exact answer is empty")
        if len(value) > MAX_EXACT_LENGTH:
            raise ValueError(f"expected exact answer is longer than {MAX_EXACT_LENGTH} characters")
        return value
    if not value:
        raise ValueError("expected regex is empty")
    if len(value) > MAX_REGEX_LENGTH:
        raise ValueError(f"expected regex is longer than {MAX_REGEX_LENGTH} characters")
    try:
        _user_regex(value)
    except Exception as exc:  # the regex module raises its own error type
        raise ValueError(f"expected regex is invalid: {exc}") from None
    return value


@functools.lru_cache(maxsize=512)
def _user_regex(pattern: str) -> regex.Pattern[str]:
    # The `regex` module, unlike `re`, can stop a search after a time limit. Imported here so
    # only deployments that grade with regexes pay for it.
    import regex

    return regex.compile(pattern, regex.MULTILINE)


def _last_statement(text: str, lowered: str, statements: tuple) -> re.Match[str] | None:
    """The statement that starts last in `text`, found by searching its key words backwards.

    Answers come at the end, so this reads a few characters instead of running every pattern
    over the whole response. `lowered` is `text` lower-cased with the same indices.
    """
    best: re.Match[str] | None = None
    for keywords, pattern in statements:
        for keyword in keywords:
            end = len(lowered)
            for _ in range(_MAX_STATEMENT_TRIES):
                start = lowered.rfind(keyword, 0, end)
                if start < 0 or (best is not None and start < best.start()):
                    break
                m = pattern.match(text, start)
                if m is not None:
                    best = m
                    break
                end = start + len(keyword) - 1
    return best


def _lower(text: str) -> str:
    lowered = text.lower()
    # Lower-casing may lengthen a few letters ("İ"); then only ASCII is lowered, keeping indices.
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _extract_choice(text: str) -> str | None:
    last = _last_statement(text, _lower(text), _CHOICE_EXPLICIT)
    if last is not None:
        return next(g for g in last.groups() if g).upper()
    whole = _CHOICE_LONE_WHOLE.fullmatch(text)
    if whole is not None:
        return whole.group(1).upper()
    letters = {a or b for a, b in _CHOICE_MENTION.findall(text)}
    return letters.pop() if len(letters) == 1 else None


def _extract_number(text: str) -> Decimal | None:
    explicit = _last_statement(text, _lower(text), _NUMBER_EXPLICIT)
    if explicit is not None:
        line_end = text.find("\n", explicit.end())
        m = _first_number(text, explicit.end(), line_end if line_end >= 0 else len(text))
        if m is not None:
            return _to_decimal(m)
    cut = len(text) - _NUMBER_TAIL
    tail = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut)) + 1 if cut > 0 else 0
    last = None
    for last in _NUMBER_RE.finditer(text, tail):
        pass
    if last is None and tail:
        for last in _NUMBER_RE.finditer(text, 0, tail):
            pass
    return None if last is None else _to_decimal(last)


def _first_number(text: str, start: int, end: int) -> re.Match[str] | None:
    while (digit := _DIGIT.search(text, start, end)) is not None:
        d = digit.start()
        # The number may open with a sign and "$" just before its first digit.
        for opening in range(max(start, d - 2), d + 1):
            m = _NUMBER_RE.match(text, opening, end)
            if m is not None and m.end() > d:
                return m
        start = digit.end()
    return None


def _to_decimal(m: re.Match[str]) -> Decimal:
    sign, digits, fraction = m.groups()
    try:
        number = Decimal(digits.replace(",", "") + (fraction or ""))
    except InvalidOperation:  # cannot happen for the digits the pattern admits
        raise ValueError(f"not a number: {m.group()!r}") from None
    return -number if sign and number else number


def _format_number(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _extract_exact(text: str) -> str | None:
    explicit = _last_statement(text, _lower(text), _EXACT_EXPLICIT)
    if explicit is not None and _normalize_exact(explicit.group(1)):
        return explicit.group(1).strip()
    end = len(text.rstrip())
    for _ in range(_MAX_LINES_TRIED):
        if end <= 0:
            break
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if _normalize_exact(line):
            return line.strip()
        end = start - 1
    return None


def _normalize_exact(answer: str) -> str:
    """"**Paris.**" and "paris" compare equal: markdown, quotes, trailing punctuation and case go."""
    previous = None
    while answer != previous:
        previous = answer
        answer = answer.strip(_EXACT_WRAP).rstrip(_EXACT_TRAILING)
    return _SPACES.sub(" ", answer).casefold()


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
