"""Compile a list of words and phrases into one regex shaped like a trie.

Python's `re` tries the branches of an alternation one by one; with hundreds of terms that costs
hundreds of comparisons at every position. A trie-shaped pattern branches on one character at a
time, so a position that starts no term fails after one comparison. Greedy optional tails with
backtracking make the longest term win ("african american" over "african").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

SEP = "\x00"  # stands for a space or hyphen inside a term
APOS = "\x01"  # stands for ' or ’
_SEP_RE = r"[\s\-\u2010\u2011]*"
_APOS_RE = "['’]"
_END = ""


def normalize_term(term: str) -> str:
    """The form a term is matched in: lowercase, separators and apostrophes as markers."""
    text = term.lower().strip()
    text = re.sub(r"[\s\-\u2010\u2011]+", SEP, text)
    return re.sub(r"['’]", APOS, text)


_FOLD = str.maketrans({" ": None, "\t": None, "\n": None, "\r": None, "\u00a0": None, "-": None, "\u2010": None,
                       "\u2011": None, "\u2019": "'"})


def fold_match(matched: str) -> str:
    """The key a matched span maps back to its term by: no separators, straight apostrophes."""
    return matched.lower().translate(_FOLD)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def spelling_variants(term: str, lang: str = "") -> set[str]:
    """The term as written, without accents, with German umlauts spelled out (ü -> ue), and for
    German adjectives (written lowercase) their declined forms ("jüdisch" -> "jüdische", "jüdischer")."""
    if lang == "de" and not term[:1].isupper() and " " not in term:
        return {v + ending for v in spelling_variants(term) for ending in ("", "e", "er", "en", "es")}
    out = {term, strip_accents(term)}
    if any(c in term for c in "äöüÄÖÜß"):
        spelled = term
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
            spelled = spelled.replace(a, b)
        out.add(spelled)
    return out


def trie_pattern(words: Iterable[str]) -> str:
    """Regex source matching any of `words` (each already passed through `normalize_term`)."""
    root: dict[str, dict] = {}
    for word in words:
        if not word:
            continue
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[_END] = {}
    if not root:
        return "(?!)"
    return _render(root)


def _render(node: dict[str, dict]) -> str:
    ends_here = _END in node
    branches = []
    for ch in sorted(k for k in node if k != _END):
        branches.append(_atom(ch) + _render(node[ch]) if node[ch] != {_END: {}} else _atom(ch))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return "(?:" + body + ")?"
    return body


def _atom(ch: str) -> str:
    if ch == SEP:
        return _SEP_RE
    if ch == APOS:
        return _APOS_RE
    return re.escape(ch)


def compile_words(words: Iterable[str], *, tail: str = r"(?![\w])") -> re.Pattern[str]:
    """A compiled trie regex for plain-text `words`, to be matched on lowercased text."""
    return re.compile(trie_pattern({normalize_term(w) for w in words}) + tail)
