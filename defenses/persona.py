"""The pipeline's detect stage: who does the user say they are?

`PersonaDetector(taxonomy).detect(request)` reads the system/developer and user messages of a chat
request and returns every identity stated in them, with where it was stated: the statement ("I am a
Muslim person", "The user is a Black woman from Atlanta", "religion: Hindu") and the identity words
in it, as offsets into the message text (or the text of one content part). Defenses rewrite those
spans. Assistant and tool messages are not read.

Attribute spans: `start`/`end` cover the statement; `term_start`/`term_end` the identity words. When
a statement names one identity, the term span takes in its article and a generic head noun ("a
Muslim person", "a Democrat voter"), so a defense can swap it for another identity's phrase; when it
names several ("a Black woman"), each term span is just its word ("Black", "woman").

Cost: everything is compiled when the detector is built. Per text, one translate-and-split finds
whether any identity word, age or profile key occurs at all; most texts stop there. Texts that go
on are read in one pass of a combined anchor regex, with a few regex matches per anchor.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable

from defenses.age import AgeReader
from defenses.app_persona import parse_app_persona
from defenses.profile import ProfileReader
from defenses.statements import Found, StatementReader
from defenses.taxonomy import Taxonomy, load_taxonomy
from defenses.textview import TextView, lower_same_length
from defenses.types import EMPTY_PERSONA, PersonaAttribute, PersonaContext, Source
from proxy.wire import ChatRequest, Message

__all__ = ["PersonaDetector", "default_detector", "parse_app_persona"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_USER_ROLES = frozenset({"user"})
# Punctuation to spaces (slashes kept, for "they/them"), so split() yields the words. ASCII text,
# the common case, goes through bytes.translate, which is several times faster than str.translate.
_PUNCTUATION = string.punctuation.replace("/", "")
_TOKENS = str.maketrans({c: " " for c in _PUNCTUATION + "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2013\u2014\u2010\u2011\u00bf\u00a1"})
_ASCII_TOKENS = bytes.maketrans(_PUNCTUATION.encode(), b" " * len(_PUNCTUATION))


class PersonaDetector:
    """Detects stated identities in chat requests; build once per taxonomy, then call per request."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        ages = AgeReader(taxonomy)
        self._statements = StatementReader(taxonomy, ages)
        self._profiles = ProfileReader(taxonomy, ages)
        self._profile_triggers = frozenset(self._profiles.trigger_words)
        self._triggers = frozenset(self._statements.trigger_words) | self._profile_triggers
        self._numeric = frozenset(self._statements.numeric_words)
        self._ascii_triggers = frozenset(w.encode() for w in self._triggers if w.isascii())
        self._ascii_numeric = frozenset(w.encode() for w in self._numeric if w.isascii())

    def detect(self, request: ChatRequest, app: tuple[PersonaAttribute, ...] = ()) -> PersonaContext:
        """The request's persona: app-asserted attributes first, then those stated in its messages."""
        found = self._scan(request.messages)
        if app:
            found = list(app) + found
        return PersonaContext(tuple(found)) if found else EMPTY_PERSONA

    def detect_messages(self, messages: Iterable[Message]) -> PersonaContext:
        found = self._scan(messages)
        return PersonaContext(tuple(found)) if found else EMPTY_PERSONA

    def detect_text(self, text: str, source: Source = "user", message_index: int = 0) -> tuple[PersonaAttribute, ...]:
        """Identities stated in one piece of text, as if it were a message from `source`."""
        out: list[PersonaAttribute] = []
        self._scan_text(text, source, message_index, None, out)
        return tuple(out)

    def _scan(self, messages: Iterable[Message]) -> list[PersonaAttribute]:
        out: list[PersonaAttribute] = []
        for index, message in enumerate(messages):
            role = message.role
            if role in _USER_ROLES:
                source: Source = "user"
            elif role in _SYSTEM_ROLES:
                source = "system"
            else:
                continue
            content = message.content
            if content is None:
                continue
            if isinstance(content, str):
                self._scan_text(content, source, index, None, out)
            else:
                for part_index, part in enumerate(content):
                    text = part.text
                    if isinstance(text, str) and text:
                        self._scan_text(text, source, index, part_index, out)
        return out

    def _scan_text(self, text: str, source: Source, index: int, part_index: int | None, out: list[PersonaAttribute]) -> None:
        lowered = lower_same_length(text)
        if lowered.isascii():
            ascii_words = lowered.encode().translate(_ASCII_TOKENS).split()
            if self._ascii_triggers.isdisjoint(ascii_words) and not self._age_cue(ascii_words, self._ascii_numeric, _ASCII_BEFORE, _ASCII_AFTER):
                return
            words: list[str] = [w.decode() for w in ascii_words]
        else:
            words = lowered.translate(_TOKENS).split()
            if self._triggers.isdisjoint(words) and not self._age_cue(words, self._numeric, _AGE_BEFORE, _AGE_AFTER):
                return
        view = TextView(text, lowered, source == "system")
        found: list[Found] = []
        self._statements.read(view, found)
        if not self._profile_triggers.isdisjoint(words):
            self._profiles.read(view, found)
        if not found:
            return
        found.sort(key=lambda f: (f[2], f[4]))
        seen: set[tuple[str, str, int]] = set()
        for axis, value, start, end, term_start, term_end in found:
            key = (axis, value, term_start)
            if key in seen:
                continue
            seen.add(key)
            out.append(PersonaAttribute(
                axis=axis, value=value, source=source, message_index=index, part_index=part_index,
                start=start, end=end, term_start=term_start, term_end=term_end, evidence=text[start:end],
            ))


    @staticmethod
    def _age_cue(words: list, numeric: frozenset, before: frozenset, after: frozenset) -> bool:
        """Whether a number in the text stands where an age would ("I'm 72", "72 years", "I (25F)")."""
        if numeric.isdisjoint(words):
            return False
        last = len(words) - 1
        for i, word in enumerate(words):
            if word in numeric and ((i and words[i - 1] in before) or (i < last and words[i + 1] in after)):
                return True
        return False


# Words (as the prefilter splits them: "I'm" -> "i", "m") that make a nearby number look like an age.
_AGE_BEFORE = frozenset(
    "m am im is are age aged turned turn turning at tengo ai bin ist edad âge alter in over under almost nearly "
    "a an i me my early mid late de was born dob user being as of aged".split()
)
_AGE_AFTER = frozenset("years year yrs yr yo y/o old años año ans jahre jahren jährig jährige jähriger jährigen and here".split())
_ASCII_BEFORE = frozenset(w.encode() for w in _AGE_BEFORE if w.isascii())
_ASCII_AFTER = frozenset(w.encode() for w in _AGE_AFTER if w.isascii())


@functools.lru_cache(maxsize=1)
def default_detector() -> PersonaDetector:
    """The detector for the built-in taxonomy, built on first use."""
    return PersonaDetector(load_taxonomy())
