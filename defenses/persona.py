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
whether any identity word, age or profile key occurs at all (defenses.prefilter); most texts stop
there. The others are read only in small windows around those words, with a few regex matches per
anchor, so cost grows with the identity words in a text, not with its length. What a text states
depends only on the text and its sender, and conversations resend their system prompt and earlier
turns with every request, so results are remembered per text (defenses.text_cache): a request
usually costs one dictionary look-up per repeated message plus a reading of its newest turn.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from defenses.age import AgeReader
from defenses.app_persona import parse_app_persona
from defenses.phrase_walker import PhraseWalker
from defenses.prefilter import Prefilter
from defenses.profile import ProfileReader
from defenses.statements import Found, StatementReader
from defenses.taxonomy import Taxonomy, load_taxonomy
from defenses.text_cache import TextCache
from defenses.textview import TextView, lower_same_length
from defenses.types import EMPTY_PERSONA, PersonaAttribute, PersonaContext, Source
from proxy.wire import ChatRequest, Message

__all__ = ["PersonaDetector", "default_detector", "parse_app_persona"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_USER_ROLES = frozenset({"user"})


class PersonaDetector:
    """Detects stated identities in chat requests; build once per taxonomy, then call per request."""

    def __init__(self, taxonomy: Taxonomy, *, cache_entries: int = 4096) -> None:
        self.taxonomy = taxonomy
        # per (text, source): the attributes found, with the message index of the text's first reading
        self.cache: TextCache[tuple[PersonaAttribute, ...]] = TextCache(max_entries=cache_entries)
        ages = AgeReader(taxonomy)
        walker = PhraseWalker(taxonomy, ages)
        self._prefilter = Prefilter(taxonomy, walker.plural_forms)
        self._statements = StatementReader(taxonomy, ages, walker)
        self._profiles = ProfileReader(taxonomy, ages, walker)

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
        known = self.cache.get(text, source)
        if known is None:
            known = self._read_text(text, source, index, part_index)
            self.cache.put(text, source, known)
        if not known:
            return
        if known[0].message_index == index and known[0].part_index == part_index:
            out.extend(known)
            return
        for a in known:
            out.append(PersonaAttribute(
                axis=a.axis, value=a.value, source=source, message_index=index, part_index=part_index,
                start=a.start, end=a.end, term_start=a.term_start, term_end=a.term_end, evidence=a.evidence,
            ))

    def _read_text(self, text: str, source: Source, index: int, part_index: int | None) -> tuple[PersonaAttribute, ...]:
        lowered = lower_same_length(text)
        where = self._prefilter.locate(lowered)
        if where is None:
            return ()
        statement_windows, profile_windows = where
        view = TextView(text, lowered, source == "system")
        found: list[Found] = []
        self._statements.read(view, found, statement_windows)
        if view.system:
            self._profiles.read(view, found, profile_windows, statement_windows)
            self._profiles.read_descriptions(view, found, statement_windows)
        elif profile_windows:
            self._profiles.read(view, found, profile_windows)
        if not found:
            return ()
        found.sort(key=lambda f: (f[2], f[4]))
        seen: set[tuple[str, str, int]] = set()
        out: list[PersonaAttribute] = []
        for axis, value, start, end, term_start, term_end in found:
            key = (axis, value, term_start)
            if key in seen:
                continue
            seen.add(key)
            out.append(PersonaAttribute(
                axis=axis, value=value, source=source, message_index=index, part_index=part_index,
                start=start, end=end, term_start=term_start, term_end=term_end, evidence=text[start:end],
            ))
        return tuple(out)


@functools.lru_cache(maxsize=1)
def default_detector() -> PersonaDetector:
    """The detector for the built-in taxonomy, built on first use."""
    return PersonaDetector(load_taxonomy())
