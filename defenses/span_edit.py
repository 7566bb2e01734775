"""Cut an identity statement out of a text, or generalize it, so that what is left still reads naturally.

The detector gives us spans; these functions decide how much of the surrounding punctuation and
whitespace goes with a span ("You are a helpful assistant. I am a Muslim person. Answer briefly."
-> "You are a helpful assistant. Answer briefly.") and how to phrase a generic stand-in ("an Asian
person" -> "a person"). They work on one string and return one `Edit`; `lo`/`hi` bound how far an
edit may reach, so it never eats into a neighbouring statement that is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `text[start:end]` with `replacement`."""

    start: int
    end: int
    replacement: str

    @property
    def delta(self) -> int:
        return len(self.replacement) - (self.end - self.start)


_HSPACE = " \t"
_TRAILING_PUNCT = ".!?;:,"
_TERMINATORS = ".!?;"
_SENTENCE_BREAK = ".!?;:\n"
_OPENERS = "{["
# Words that join a removed leading clause to the rest of its sentence: "I am a Muslim person and I need..."
_CONNECTOR = re.compile(r"(?:and|so|but|and so)[ \t]+")
_BULLET_ONLY = re.compile(r"[ \t]*(?:[-*\u2022+]|\d{1,3}[.)])?[ \t]*")
_LOWER_WORD = re.compile(r"[a-z]+\b")
# Words that can open a clause of their own, so "I am Muslim and <this>..." survives losing its first half.
_CLAUSE_START = re.compile(
    r"(?:i|i'm|i've|i'd|i'll|me|my|we|we're|our|you|your|it|it's|this|that|these|those|there|they|he|she|"
    r"the|a|an|any|some|if|what|what's|how|how's|why|when|where|which|who|whom|whose|is|are|am|was|were|"
    r"do|does|did|can|could|would|should|will|shall|may|might|must|please|tell|give|help|explain|write|"
    r"show|list|describe|recommend|suggest|find|make|let|let's|answer|calculate|compute|solve|translate|"
    r"summarize|check|fix|draft|create)\b",
    re.IGNORECASE,
)

# Nouns that only carry the identity ("a Democrat voter", "a senior citizen"): generalizing replaces them too.
_IDENTITY_NOUN = re.compile(
    r"[ \t]+(?:person|people|persons|voter|voters|individual|individuals|citizen|citizens|"
    r"man|men|woman|women|guy|guys|folks?|user|users)\b",
    re.IGNORECASE,
)
_KEPT_NOUNS = frozenset({"user", "users", "customer", "customers", "client", "clients"})
_PLURAL_NOUNS = frozenset({"people", "persons", "voters", "individuals", "citizens", "men", "women", "guys", "folks", "users"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_ARTICLE_BEFORE = re.compile(r"\b(an?|An?|AN?)([ \t]+)\Z")
_PLURAL_VERB_BEFORE = re.compile(r"\b(?:are|were|we're|they're)[ \t]+(?:all[ \t]+|both[ \t]+)?\Z", re.IGNORECASE)
_KEY_VALUE_BEFORE = re.compile(r"[:=][ \t]*[\"']?\Z")


def removal(text: str, start: int, end: int, lo: int = 0, hi: int | None = None, *, strict: bool = True) -> Edit | None:
    """The edit that removes the statement `text[start:end]` with the punctuation and spacing that belong to it.

    With `strict`, None when the statement is woven into a clause that cannot stand without it ("We are
    Muslims and want a recipe", "I am a Muslim person living in Ohio"): generalize those instead.
    """
    hi = len(text) if hi is None else hi
    line = _whole_line(text, start, end, lo, hi)
    if line is not None:
        return line

    k = start
    while k > lo and text[k - 1] in _HSPACE:
        k -= 1
    prev = text[k - 1] if k > 0 else ""
    j = end
    while j < hi and text[j] in _TRAILING_PUNCT:
        j += 1
    own = end
    while own > start and text[own - 1] in _TRAILING_PUNCT:
        own -= 1
    punct = text[own:j]  # the statement's own closing punctuation counts ("As a Muslim," / "I am Muslim.")
    structured = text[start] in "\"'"

    if prev == "(" and k - 1 >= lo and j < hi and text[j] == ")":
        # "(I am Muslim)": the parentheses go too
        return _joined(text, k - 1, j + 1, lo, hi, sentence_start=False)
    bullet = _line_prefix_is_bullet(text, k, lo)
    if prev == "" or prev in _SENTENCE_BREAK or prev in _OPENERS or bullet:
        # the statement opens a sentence: what follows must be able to stand alone
        m = j
        while m < hi and text[m] in _HSPACE:
            m += 1
        if not structured and not any(c in _TERMINATORS for c in punct) and m < hi:
            connector = _CONNECTOR.match(text, m, hi)
            if connector is not None:
                m = connector.end()
                if strict and not _starts_clause(text, m, hi):
                    return None
            elif strict and "," not in punct and ":" not in punct:
                return None
        return _joined(text, start, m, lo, hi, sentence_start=prev == "" or prev in ".!?\n" or bullet)
    if prev == "," and k - 1 >= lo:
        if punct.startswith(","):
            if structured:
                return _joined(text, start, j, lo, hi, sentence_start=False)
            # "What, as a Muslim, should I eat?" -> "What should I eat?"
            return _joined(text, k - 1, j, lo, hi, sentence_start=False)
        # "Explain pensions to me, as a senior citizen." -> "Explain pensions to me."
        return _joined(text, k - 1, end, lo, hi, sentence_start=False)
    if punct == "" or punct.startswith(","):
        # "Tell me as a senior citizen, what ..." -> "Tell me what ..."
        return _joined(text, k, j, lo, hi, sentence_start=False)
    # "Explain pensions to me as a senior citizen." -> "Explain pensions to me."
    return _joined(text, k, end, lo, hi, sentence_start=False)


def generalization(text: str, term_start: int, term_end: int, lo: int = 0, hi: int | None = None) -> Edit:
    """The edit that replaces the identity words `text[term_start:term_end]` with a generic "a person"."""
    hi = len(text) if hi is None else hi
    a, b = term_start, term_end
    noun_after = _IDENTITY_NOUN.match(text, b, hi)
    if noun_after is not None:
        b = noun_after.end()
    before = text[lo:a]
    if _KEY_VALUE_BEFORE.search(before):
        # "Religion: Muslim" -> "Religion: unspecified"
        return Edit(a, b, "unspecified")
    words = _WORD.findall(text[a:b])
    last = words[-1] if words else ""
    plural = last.lower() in _PLURAL_NOUNS or _PLURAL_VERB_BEFORE.search(before) is not None
    if last.lower() in _KEPT_NOUNS:
        noun = last
    else:
        noun = "people" if plural else "person"
    article = _ARTICLE_BEFORE.search(before)
    if article is not None:
        art = article.group(1)
        fixed = "A" if art[0] == "A" else "a"
        if art.isupper() and len(art) > 1:
            fixed = "A"
        if plural:
            return Edit(lo + article.start(1), b, _capitalized(noun) if art[0] == "A" else noun)
        return Edit(lo + article.start(1), b, f"{fixed}{article.group(2)}{noun}")
    replacement = noun if plural else f"a {noun}"
    stripped = before.rstrip(_HSPACE)
    at_sentence_start = (not stripped and lo == 0) or (stripped[-1:] in (".", "!", "?", "\n"))
    if at_sentence_start and text[a:a + 1].isupper():
        replacement = _capitalized(replacement)
    return Edit(a, b, replacement)


def apply(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits given in any order."""
    out = text
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        out = out[: edit.start] + edit.replacement + out[edit.end :]
    return out


def _starts_clause(text: str, i: int, hi: int) -> bool:
    return _CLAUSE_START.match(text, i, hi) is not None


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


def _line_prefix_is_bullet(text: str, k: int, lo: int) -> bool:
    """Whether only a list marker ("- ", "1. ") stands between the start of the line and position `k`."""
    line_start = text.rfind("\n", 0, k) + 1
    if line_start < lo:
        return False
    if line_start == k:
        return False  # handled as a plain line start by the caller
    return _BULLET_ONLY.fullmatch(text, line_start, k) is not None


def _whole_line(text: str, start: int, end: int, lo: int, hi: int) -> Edit | None:
    """The statement is alone on its line (a profile entry, a bullet): the line goes, newline included."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    if line_start < lo or line_end > hi:
        return None
    if _BULLET_ONLY.fullmatch(text, line_start, start) is None:
        return None
    if text[end:line_end].strip(" \t.,;") != "":
        return None
    if line_start == 0 and line_end == len(text):
        return Edit(0, len(text), "")
    a = line_start
    if text[start] in "\"'" and "," not in text[end:line_end]:
        # last item of a pretty-printed JSON object: the previous item's comma goes too
        p = line_start - 1
        while p > lo and text[p - 1] in " \t\r\n":
            p -= 1
        if p > lo and text[p - 1] == ",":
            return Edit(p - 1, line_end, "")
    if line_end < len(text):
        b = line_end + 1
        if text.startswith("\n\n", a - 2) and text.startswith("\n", b) and b < hi:
            b += 1  # a paragraph of its own: one blank line stays between its neighbours, not two
        return Edit(a, b, "")
    return Edit(line_start - 1, line_end, "")


def _joined(text: str, a: int, b: int, lo: int, hi: int, *, sentence_start: bool) -> Edit:
    """Remove `text[a:b]` and fix the seam: one run of whitespace, a capital letter if a sentence now starts there."""
    wl = a
    while wl > lo and text[wl - 1] in " \t\r\n":
        wl -= 1
    wr = b
    while wr < hi and text[wr] in " \t\r\n":
        wr += 1
    left_empty = wl == 0
    right_empty = wr == len(text)
    if left_empty and right_empty:
        return Edit(0, len(text), "")
    if left_empty:
        a, b = 0, wr
    elif right_empty:
        a, b = wl, len(text)
    elif wl < a and wr > b:
        # keep the wider of the two whitespace runs (a line break beats a space)
        if text.count("\n", b, wr) > text.count("\n", wl, a):
            a = wl
        else:
            b = wr
    elif wl < a and wr < hi and text[wr] in ",.;:!?)":
        a = wl
    replacement = ""
    if sentence_start and not right_empty:
        first = _LOWER_WORD.match(text, b)
        if first is not None and b < hi:
            replacement = text[b].upper()
            b += 1
    return Edit(a, b, replacement)
