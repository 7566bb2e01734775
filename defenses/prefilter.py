"""Which texts could state an identity at all, and where: the detector's cheap first pass.

Most texts name no identity. One translate-and-split of the text gives its words; if none of them is
a trigger word (one distinctive word per taxonomy term or statement, a profile key, or a number
standing where an age would), the text is done. Otherwise the trigger words are found again with
str.find, and only the stretches of text around them are read by the anchor patterns, so the cost
of a long text grows with its identity words, not its length.
"""

from __future__ import annotations

import re
import string
from collections.abc import Set as AbstractSet

from defenses.age import number_words
from defenses.phrase_walker import SENTENCE_ADVERBS
from defenses.phrases import expansions
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.wordlist_regex import spelling_variants

Windows = list[tuple[int, int]]

# Punctuation to spaces (slashes kept, for "they/them"), so split() yields the words. ASCII text,
# the common case, goes through bytes.translate, which is several times faster than str.translate.
_PUNCTUATION = string.punctuation.replace("/", "")
_TOKENS = str.maketrans({c: " " for c in _PUNCTUATION + "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2013\u2014\u2010\u2011\u00bf\u00a1"})
_ASCII_TOKENS = bytes.maketrans(_PUNCTUATION.encode(), b" " * len(_PUNCTUATION))
_SPLIT = re.compile(r"[\s\-\u2010\u2011'’/_]+")

# Words too common to be a term's trigger when the term has a better one.
_COMMON = frozenset(
    """first under user day times five missing one two have has use get around need lost born without live with
    all any party person people school high old older young new american state free middle age little grade
    witness saint latter power higher god gods lord savior saviour keep go attend follow support belong vote
    always lean registered am my both an the a of in to as at on for with and not don't do no from by into one's
    can't cannot was were own is are it its this that who way left right lower""".split()
)
_STOP = frozenset("a an the of in to my de la le en un une el y et und der die das with for as at on me con du des".split())
_CONTRACTION_PIECES = frozenset("don doesn didn isn aren wasn weren can couldn won wouldn shouldn t s ve ll re m d".split())
_EXTRA_TRIGGERS = ("pronouns", "pronoun", "pronombres", "pronoms", "pronomen", "grade", "grader", "teens", "twenties",
                   "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties", "retired")
_BIRTH_WORDS = ("dob", "birth", "born", "birthday", "birthdate", "birthyear")
_PROFILE_OWNERS = ("user", "customer", "client", "patient", "member", "my")
# Words (as split here: "I'm" -> "i", "m") that make a nearby number look like an age.
_AGE_BEFORE = frozenset(
    "m am im is are age aged turned turn turning at tengo ai bin ist edad âge alter in over under almost nearly "
    "a an i me my early mid late de was born dob user being as of aged be cumplo cumplí cumplir cumpliré werde eu "
    "aurai avoir mes bald woche morgen anfang mitte ende".split()
)
_AGE_AFTER = frozenset("years year yrs yr yo y/o old años año ans jahre jahren jährig jährige jähriger jährigen and here".split())


class Prefilter:
    """Trigger words of a taxonomy, compiled once."""

    def __init__(self, taxonomy: Taxonomy, plural_forms: frozenset[str] = frozenset()) -> None:
        triggers: set[str] = set()
        for value in taxonomy.all_values():
            for lang in LANGUAGES:
                for term in value.terms.get(lang, ()):
                    for form in spelling_variants(term.text, lang):
                        _add_term(triggers, form)
                for phrase in value.statements.get(lang, ()):
                    for wording in expansions(phrase):
                        pieces = [w for w in _SPLIT.split(wording.lower()) if w]
                        if pieces:
                            triggers.add(_rarest(pieces))
            triggers.update(p.lower() for p in value.pronouns)
        for form in plural_forms:
            _add_term(triggers, form)
        triggers.update(_EXTRA_TRIGGERS)
        # "25f" is distinctive wherever it stands; "10m" is not (ten million, ten minutes).
        triggers.update(f"{n}f" for n in range(13, 100))
        profile: set[str] = set(_BIRTH_WORDS)
        for axis in taxonomy.axes():
            for keys in taxonomy.axis(axis).keys.values():
                for key in keys:
                    for form in spelling_variants(key):
                        first = _SPLIT.split(form.lower())[0]
                        profile.add(first)
                        profile.update(f"{owner}{first}" for owner in _PROFILE_OWNERS)  # "userAge", "my_age"
        numeric: set[str] = set()
        for n in range(1, 131):
            numeric.update({str(n), f"{n}s", f"{n}yo", f"{n}m", f"{n}nb", f"{n}y/o"})
        numeric.update(str(year) for year in range(1900, 2031))
        for lang in LANGUAGES:
            for words, number in number_words(lang).items():
                if number > 10:
                    numeric.update(p for p in re.split(r"[\s\-]+", words) if len(p) >= 5)
        self._words = frozenset(triggers | profile)
        self._profile = frozenset(profile)
        self._numeric = frozenset(numeric)
        self._ascii_words = frozenset(w.encode() for w in self._words if w.isascii())
        self._ascii_numeric = frozenset(w.encode() for w in self._numeric if w.isascii())
        self._ascii_before = frozenset(w.encode() for w in _AGE_BEFORE if w.isascii())
        self._ascii_adverbs = frozenset(w.encode() for w in SENTENCE_ADVERBS)
        self._ascii_after = frozenset(w.encode() for w in _AGE_AFTER if w.isascii())

    def locate(self, lowered: str) -> tuple[Windows, Windows] | None:
        """Where to read: (windows for statements, windows for profile fields), or None if nowhere."""
        words: AbstractSet[str]
        if lowered.isascii():
            raw = lowered.encode().translate(_ASCII_TOKENS).split()
            present = self._ascii_words.intersection(raw)
            ages = _age_cues(raw, self._ascii_numeric, self._ascii_before, self._ascii_after, self._ascii_adverbs)
            if not present and not ages:
                return None
            words = {w.decode() for w in present | ages}
        else:
            tokens = lowered.translate(_TOKENS).split()
            words = self._words.intersection(tokens) | _age_cues(tokens, self._numeric, _AGE_BEFORE, _AGE_AFTER, SENTENCE_ADVERBS)
            if not words:
                return None
        keys = self._profile.intersection(words)
        return windows(lowered, words, 160, 60), windows(lowered, keys, 40, 80) if keys else []


def _add_term(triggers: set[str], form: str) -> None:
    """One word per term, the rarest-looking, is enough: the prefilter only asks whether a text could
    hold the term at all."""
    pieces = [p for p in _SPLIT.split(form.lower()) if p]
    if len(pieces) == 1:
        triggers.add(pieces[0])
        return
    triggers.add("".join(pieces))
    rare = [p for p in pieces if p not in _COMMON and p not in _STOP]
    if rare:
        triggers.add(max(rare, key=len))


def _rarest(pieces: list[str]) -> str:
    pieces = [p for p in pieces if p not in _CONTRACTION_PIECES] or pieces
    good = [p for p in pieces if p not in _COMMON and p not in _STOP and len(p) >= 3] or [p for p in pieces if len(p) > 3] or pieces
    return max(good, key=len)


def _age_cues(words: list, numeric: frozenset, before: frozenset, after: frozenset, adverbs: frozenset) -> set:
    """The numbers in the text that stand where an age would ("I'm 72", "I'm only 16", "72 years", "I (25F)")."""
    present = numeric.intersection(words)
    if not present:
        return set()
    found = set()
    last = len(words) - 1
    for number in present:
        i = -1
        try:
            while True:  # list.index walks the tokens in C; most texts hold a number or two
                i = words.index(number, i + 1)
                if (
                    not i or words[i - 1] in before or (i < last and words[i + 1] in after)  # or opening the text
                    or (i > 1 and words[i - 1] in adverbs and words[i - 2] in before)  # "I'm only 16", not "just 5 minutes"
                ):
                    found.add(number)
                    break
        except ValueError:
            pass
    return found


def windows(lowered: str, words: AbstractSet[str], before: int, after: int) -> Windows:
    """Merged stretches of text around each whole-word occurrence of `words`."""
    n = len(lowered)
    spans = []
    find = lowered.find
    for word in words:
        size = len(word)
        pos = find(word)
        while pos >= 0:
            end = pos + size
            if (pos == 0 or not lowered[pos - 1].isalnum()) and (end >= n or not lowered[end].isalnum()):
                spans.append((pos - before if pos > before else 0, end + after if end + after < n else n))
            pos = find(word, end)
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
