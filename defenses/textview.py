"""One piece of message text as the detector reads it: the original, a lowercase copy of the same
length (so offsets found in one index the other), and the spans that are someone else's words."""

from __future__ import annotations

from defenses.quoted import foreign_spans, inside


def lower_same_length(text: str) -> str:
    """`text.lower()`, except characters whose lowercase is longer ("İ") stay as they are."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class TextView:
    __slots__ = ("text", "lowered", "system", "_foreign", "_foreign_starts", "user_statements", "negated", "read_up_to", "cue_memo")

    def __init__(self, text: str, lowered: str, system: bool) -> None:
        self.text = text
        self.lowered = lowered
        self.system = system
        self._foreign: list[tuple[int, int]] | None = None
        self._foreign_starts: list[int] = []
        # ends of statements about "the user" in this text, for "She is 68." after "The user is a woman."
        self.user_statements: list[int] = []
        # identities this text denies ("I'm not Muslim"), which outweigh a practice stated later
        self.negated: set[tuple[str, str]] = set()
        # where the last statement read ended: a later window does not read inside it again
        self.read_up_to = 0
        # (offset, verdict) of the last profile field whose owner was looked for, for the next field
        self.cue_memo: tuple[int, bool | None] | None = None

    def foreign(self, pos: int) -> bool:
        """Whether `pos` is inside a quotation, code, or text given to translate."""
        if self._foreign is None:
            self._foreign = foreign_spans(self.text, self.lowered)
            self._foreign_starts = [s for s, _ in self._foreign]
        return bool(self._foreign) and inside(self._foreign, self._foreign_starts, pos)

    def in_code(self, pos: int) -> bool:
        """Whether `pos` is inside a fenced or inline code span."""
        text = self.text
        if "`" not in text and "~~~" not in text:
            return False
        fences = text.count("```", 0, pos) + text.count("~~~", 0, pos)
        if fences % 2:
            return True
        line_start = text.rfind("\n", 0, pos) + 1
        return text.count("`", line_start, pos) % 2 == 1
