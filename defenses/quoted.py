"""Where a message carries someone else's words: quotations, code, and text given to translate.

"My friend said 'I am gay'", a code block printing "I am a Muslim", or "Translate: Je suis juive"
say nothing about the user, so the detector skips self-descriptions that start inside these spans.
"""

from __future__ import annotations

import bisect
import re

_FENCE = re.compile(r"(?ms)^[ \t]*(```|~~~).*?(?:^[ \t]*\1[ \t]*$|\Z)")
_INLINE_CODE = re.compile(r"`[^`\n]{1,400}`")
_BLOCKQUOTE = re.compile(r"(?m)^[ \t]*>.*$")
# A quotation opens at the start or after a space, bracket, colon or dash, and closes before a
# non-letter, within one paragraph; apostrophes inside words ("I'm") are not quotation marks. Each
# pattern starts with its literal quote character, which keeps the scan fast.
_OPENER = r"(?:(?<=^.)|(?<=[\s(\[{:,;\u2014\u2013-].))"
_DOUBLE = re.compile(r'"' + _OPENER.replace(".", '"') + r'(?=\S)[^"\n]{1,500}?(?<=\S)"(?!\w)')
_SINGLE = re.compile(r"'" + _OPENER.replace(".", "'") + r"(?=\S)(?:[^'\n]|(?<=\w)'(?=\w)){1,500}?(?<=\S)'(?!\w)")
_CURLY = re.compile(
    "\u201c[^\u201d\n]{1,500}?\u201d|\u00ab[^\u00bb\n]{1,500}?\u00bb|\u201e[^\u201c\u201d\n]{1,500}?[\u201c\u201d]"
    r"|\u2018(?:[^\u2019\n]|(?<=\w)\u2019(?=\w)){1,500}?\u2019(?!\w)"
)
# Asking to translate (or to say something in another language): what follows is text, not a statement.
_TRANSLATE = re.compile(
    r"\b(?:translate|translation\s+of|translating|tradu[cz]\w*|tradui[rst]\w*|traduction|übersetz\w*"
    r"|how\s+(?:do|would|can|should)\s+(?:you|i|we|one)\s+say"
    r"|say\s+this\s+in|write\s+this\s+in|put\s+this\s+into)\b"
)
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n|\Z")
_QUOTE_NEXT = re.compile(r"[ \t]*(?:this|that|the\s+following)?[ \t]*:?[ \t]*(?=['\"\u201c\u2018\u00ab\u201e])")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


def foreign_spans(text: str, lowered: str | None = None) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of `text` that are not the speaker's own words (`lowered`: a
    lowercase copy of the same length, if the caller has one)."""
    spans: list[tuple[int, int]] = []
    if "```" in text or "~~~" in text:
        spans.extend(m.span() for m in _FENCE.finditer(text))
    if "`" in text:
        spans.extend(m.span() for m in _INLINE_CODE.finditer(text))
    if ">" in text:
        spans.extend(m.span() for m in _BLOCKQUOTE.finditer(text))
    if '"' in text:
        spans.extend(m.span() for m in _DOUBLE.finditer(text))
    if "'" in text:
        spans.extend(m.span() for m in _SINGLE.finditer(text))
    if not text.isascii() and any(c in text for c in "\u201c\u00ab\u201e\u2018"):
        spans.extend(m.span() for m in _CURLY.finditer(text))
    if lowered is None:
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text
    if _asks_to_translate(lowered):
        spans.extend(_translated(text, lowered))
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


# Substrings one of which every match of _TRANSLATE holds ("how ... say" is checked apart).
_TRANSLATE_CUES = ("transl", "tradu", "bersetz", "write this in", "put this into", "say this in")


def _asks_to_translate(lowered: str) -> bool:
    for cue in _TRANSLATE_CUES:
        if cue in lowered:
            return True
    return "say" in lowered and "how" in lowered


def _translated(text: str, lowered: str) -> list[tuple[int, int]]:
    spans = []
    for m in _TRANSLATE.finditer(lowered):
        end = _PARAGRAPH_END.search(text, m.end())
        stop = end.start() if end else len(text)
        # "Translate this:\n\n<text>", "Can you translate this to Spanish?\n\n<text>": the text to
        # translate is the next paragraph.
        rest = text[m.end():stop].rstrip()
        if (rest.endswith(":") or len(rest) < 60) and end is not None and end.end() < len(text):
            nxt = _PARAGRAPH_END.search(text, end.end())
            stop = nxt.start() if nxt else len(text)
        # "Translate 'I am a Muslim' into Arabic. I'm Muslim myself, ...": the text to translate is the
        # quotation, and the request ends with its sentence.
        lead = _QUOTE_NEXT.match(text, m.end())
        quote = lead and (_DOUBLE.match(text, lead.end()) or _SINGLE.match(text, lead.end()) or _CURLY.match(text, lead.end()))
        if quote:
            sentence_end = _SENTENCE_END.search(text, quote.end(), stop)
            if sentence_end:
                stop = sentence_end.end()
        spans.append((m.start(), stop))
    return spans


def inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    """Whether `pos` falls in one of `spans` (`starts` = the spans' start offsets, for bisect)."""
    i = bisect.bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]
