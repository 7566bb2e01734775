"""Take the user's identity statements out of the messages we send upstream, using the detector's spans.

`neutralize_system_prompt` rewrites system and developer messages ("You are a helpful assistant. I am
a Muslim person." -> "You are a helpful assistant."); `neutralize_user_identity` rewrites user
messages, but only where the identity is not needed to answer (see `defenses.need`);
`neutral_copy` rewrites every message, for refusal retries and counterfactual probes.

They share one core, `rewrite`, which:
- treats overlapping statements in one text ("I am a Black woman": race and gender) as one statement,
  rewritten once;
- removes a statement with the punctuation and spacing that belong to it, or generalizes it ("I am a
  person"), or generalizes when removal would leave a broken clause (`defenses.span_edit`);
- drops a system/developer text part, or the whole message, when nothing else is left in it (never the
  request's last message); a user or assistant text that would become empty is generalized instead,
  so the conversation keeps its turns;
- never mutates its input: rewritten messages are copies (`model_copy(update=...)`), all others are shared;
- returns the persona context of the rewritten request: rewritten attributes are gone, the others
  have their message, part and character offsets moved to where their text now is, so defenses compose.
Actions name the client's original message index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from defenses import span_edit
from defenses.need import compile_cues, identity_needed
from defenses.types import Action, PersonaAttribute, PersonaContext
from proxy.wire import ChatRequest, ContentPart, Message

RewriteMode = Literal["remove", "generalize"]
Choice = Literal["remove", "generalize", "keep"]
"""What to do with one statement: rewrite it, or keep it and say so (None: not this defense's business)."""

SYSTEM_ROLES = frozenset({"system", "developer"})
_USER_ROLES = frozenset({"user"})


class Rewritten(NamedTuple):
    """A defense's result: the request to send on, the identities still in it, and what was done."""

    request: ChatRequest
    persona: PersonaContext
    actions: tuple[Action, ...]


class NeutralizeSystemPromptParams(BaseModel):
    """Remove (or generalize) the user's identity statements in system and developer messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["neutralize_system_prompt"] = "neutralize_system_prompt"
    mode: RewriteMode = Field(
        "remove",
        description="remove: delete the statement; generalize: keep the sentence with a generic 'a person'.",
    )


class NeutralizeUserIdentityParams(BaseModel):
    """Remove (or generalize) identity statements in user messages where the identity is not needed to answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["neutralize_user_identity"] = "neutralize_user_identity"
    mode: RewriteMode = Field("remove", description="remove or generalize the statement when it is not needed.")
    extra_cues: dict[str, list[str]] = Field(
        default_factory=dict,
        description="axis -> extra words or phrases ('word*' for a stem) whose presence means the identity is needed.",
    )
    _cues: dict[str, re.Pattern[str]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        self._cues = compile_cues(self.extra_cues)


Select = Callable[[int, Message, tuple[PersonaAttribute, ...]], Choice | None]


def neutralize_system_prompt(
    request: ChatRequest, persona: PersonaContext, params: NeutralizeSystemPromptParams
) -> Rewritten:
    mode = params.mode

    def select(index: int, message: Message, group: tuple[PersonaAttribute, ...]) -> Choice | None:
        return mode if message.role in SYSTEM_ROLES else None

    return rewrite(request, persona, params.name, select, SYSTEM_ROLES)


def neutralize_user_identity(
    request: ChatRequest, persona: PersonaContext, params: NeutralizeUserIdentityParams
) -> Rewritten:
    mode = params.mode
    cues = params._cues
    governed = _Governed(request, persona)

    def select(index: int, message: Message, group: tuple[PersonaAttribute, ...]) -> Choice | None:
        if message.role != "user":
            return None
        if identity_needed(group, governed.text(index), governed.identity_words(group), cues):
            return "keep"
        return mode

    return rewrite(request, persona, params.name, select, _USER_ROLES)


def neutral_copy(request: ChatRequest, persona: PersonaContext) -> ChatRequest:
    """The request with every identity statement the detector located removed, in every message."""
    return rewrite(request, persona, "neutral_copy", _remove_all).request


def _remove_all(index: int, message: Message, group: tuple[PersonaAttribute, ...]) -> Choice | None:
    return "remove"


# --- the core -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    """Overlapping statements in one text: rewritten together, once."""

    start: int
    end: int
    term_start: int
    term_end: int
    members: list[int]  # indices into persona.attributes
    choice: Choice | None = None


@dataclass(slots=True)
class _TextResult:
    text: str
    done: list[tuple[_Group, str]]  # (group, "removed" | "generalized")
    shifts: dict[int, int]  # kept attribute index -> offset delta


def rewrite(
    request: ChatRequest,
    persona: PersonaContext,
    defense: str,
    select: Select,
    roles: frozenset[str] | None = None,
) -> Rewritten:
    """Rewrite the statements `select` chooses, in messages of `roles` (None: all); see the module docstring."""
    attributes = persona.attributes
    messages = request.messages
    located: dict[int, dict[int | None, list[int]]] = {}
    for i, a in enumerate(attributes):
        mi = a.message_index
        if mi >= 0 and (roles is None or (mi < len(messages) and messages[mi].role in roles)):
            located.setdefault(mi, {}).setdefault(a.part_index, []).append(i)
    if not located:
        return Rewritten(request, persona, ())

    actions: list[Action] = []
    new_messages: dict[int, Message] = {}
    dropped_messages: set[int] = set()
    dropped_parts: dict[int, set[int]] = {}
    consumed: set[int] = set()
    shifts: dict[int, int] = {}

    for mi in sorted(located):
        if mi >= len(messages):
            continue
        message = messages[mi]
        content = message.content
        new_texts: dict[int | None, str] = {}
        emptied: list[int | None] = []
        results: dict[int | None, tuple[list[_Group], _TextResult]] = {}
        for pi, members in located[mi].items():
            text = _text_at(content, pi)
            if text is None:
                continue
            groups = _groups(text, attributes, members)
            for g in groups:
                g.choice = select(mi, message, tuple(attributes[m] for m in g.members))
            if not any(g.choice is not None for g in groups):
                continue
            result = _edit(text, groups)
            results[pi] = (groups, result)
            if result.done:
                new_texts[pi] = result.text
                if not result.text.strip():
                    emptied.append(pi)

        for pi in emptied:
            groups, result = results[pi]
            if message.role in SYSTEM_ROLES:
                if pi is not None and not _only_text_left(content, pi, dropped_parts.get(mi, set())):
                    dropped_parts.setdefault(mi, set()).add(pi)
                    continue
                if len(messages) - len(dropped_messages) > 1:
                    dropped_messages.add(mi)
                    continue
            # a conversation turn, or the request's last message: generalize instead of leaving it empty
            for g in groups:
                if g.choice in ("remove", "generalize"):
                    g.choice = "generalize"
            results[pi] = (groups, _edit(_text_at(content, pi) or "", groups))
            new_texts[pi] = results[pi][1].text

        for pi, (groups, result) in results.items():
            part = {"part": str(pi)} if pi is not None else {}
            for g in groups:
                if g.choice == "keep":
                    actions.append(Action(defense, "kept", mi, {"axes": _axes(attributes, g), "reason": "needed", **part}))
            for g, what in result.done:
                actions.append(Action(defense, what, mi, {"axes": _axes(attributes, g), **part}))
                consumed.update(g.members)
            shifts.update(result.shifts)
        if mi in dropped_messages:
            actions.append(Action(defense, "dropped_message", mi))
            for members in located[mi].values():
                consumed.update(members)
            continue
        for pi in sorted(dropped_parts.get(mi, ())):
            actions.append(Action(defense, "dropped_part", mi, {"part": str(pi)}))
            consumed.update(located[mi].get(pi, ()))
        if new_texts or mi in dropped_parts:
            new_messages[mi] = _with_texts(message, new_texts, dropped_parts.get(mi, set()))

    if not new_messages and not dropped_messages:
        return Rewritten(request, persona, tuple(actions))

    out = [new_messages.get(i, m) for i, m in enumerate(messages) if i not in dropped_messages]
    remaining = []
    for i, a in enumerate(attributes):
        if i in consumed:
            continue
        if a.message_index < 0:
            remaining.append(a)
            continue
        remaining.append(_moved(a, shifts.get(i, 0), dropped_messages, dropped_parts.get(a.message_index, ())))
    return Rewritten(
        request.model_copy(update={"messages": out}),
        PersonaContext(tuple(remaining)),
        tuple(actions),
    )


def _text_at(content: object, part_index: int | None) -> str | None:
    if part_index is None:
        return content if isinstance(content, str) else None
    if isinstance(content, list) and 0 <= part_index < len(content):
        return content[part_index].text
    return None


def _groups(text: str, attributes: Sequence[PersonaAttribute], members: list[int]) -> list[_Group]:
    """Merge overlapping statements; attributes whose spans do not fit the text are left alone."""
    valid = [m for m in members if 0 <= attributes[m].start < attributes[m].end <= len(text)]
    valid.sort(key=lambda m: (attributes[m].start, attributes[m].end))
    groups: list[_Group] = []
    for m in valid:
        a = attributes[m]
        has_term = a.start <= a.term_start < a.term_end <= a.end
        ts, te = (a.term_start, a.term_end) if has_term else (-1, -1)
        if groups and a.start < groups[-1].end:
            g = groups[-1]
            g.end = max(g.end, a.end)
            if ts >= 0:
                g.term_start = ts if g.term_start < 0 else min(g.term_start, ts)
                g.term_end = max(g.term_end, te)
            g.members.append(m)
        else:
            groups.append(_Group(a.start, a.end, ts, te, [m]))
    return groups


def _edit(text: str, groups: list[_Group]) -> _TextResult:
    """Apply the groups' choices right to left, each bounded by its neighbours, tracking offset shifts."""
    done: list[tuple[_Group, str]] = []
    shifts: dict[int, int] = {}
    pending: list[_Group] = []  # kept groups to the right of the current one, whose offsets later edits shift
    anchor = len(text)  # where the nearest text we must not touch begins, in current coordinates
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        lo = groups[i - 1].end if i > 0 else 0
        if g.choice not in ("remove", "generalize"):
            pending.append(g)
            anchor = g.start
            continue
        edit = None
        what = "removed"
        if g.choice == "remove":
            edit = span_edit.removal(text, g.start, g.end, lo, anchor)
        if edit is None and g.term_start >= 0:
            edit = span_edit.generalization(text, g.term_start, g.term_end, lo, anchor)
            what = "generalized"
        if edit is None:
            edit = span_edit.removal(text, g.start, g.end, lo, anchor, strict=False)
            what = "removed"
        assert edit is not None
        text = text[: edit.start] + edit.replacement + text[edit.end :]
        delta = edit.delta
        for kept in pending:
            for m in kept.members:
                shifts[m] = shifts.get(m, 0) + delta
        anchor = edit.start if what == "generalized" else anchor + delta
        done.append((g, what))
    done.reverse()
    return _TextResult(text, done, shifts)


def _only_text_left(content: object, part_index: int | None, already_dropped: set[int]) -> bool:
    """Whether dropping this part would leave the message with no parts at all."""
    if not isinstance(content, list):
        return True
    return all(i == part_index or i in already_dropped for i in range(len(content)))


def _with_texts(message: Message, texts: dict[int | None, str], dropped: set[int]) -> Message:
    if None in texts:
        return message.model_copy(update={"content": texts[None]})
    content = message.content
    assert isinstance(content, list)
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        if i in dropped:
            continue
        parts.append(part.model_copy(update={"text": texts[i]}) if i in texts else part)
    return message.model_copy(update={"content": parts})


def _moved(a: PersonaAttribute, delta: int, dropped_messages: set[int], dropped_parts: Sequence[int] | set[int]) -> PersonaAttribute:
    mi = a.message_index - sum(1 for d in dropped_messages if d < a.message_index)
    pi = a.part_index
    if pi is not None and dropped_parts:
        pi -= sum(1 for d in dropped_parts if d < pi)
    if delta == 0 and mi == a.message_index and pi == a.part_index:
        return a
    return PersonaAttribute(
        a.axis,
        a.value,
        a.source,
        mi,
        pi,
        a.start + delta,
        a.end + delta,
        a.term_start + delta if a.term_start >= 0 else a.term_start,
        a.term_end + delta if a.term_end >= 0 else a.term_end,
        a.evidence,
    )


def _axes(attributes: Sequence[PersonaAttribute], group: _Group) -> str:
    return ",".join(dict.fromkeys(attributes[m].axis for m in group.members))


class _Governed:
    """The text an identity statement in a user message governs: the rest of its message and every later
    user message, with all identity statements blanked out (so the statement cannot justify itself)."""

    def __init__(self, request: ChatRequest, persona: PersonaContext) -> None:
        self._request = request
        self._persona = persona
        self._blanked: dict[int, str] = {}

    def text(self, index: int) -> str:
        messages = self._request.messages
        pieces = [self._blank(index)]
        pieces.extend(self._blank(i) for i in range(index + 1, len(messages)) if messages[i].role == "user")
        return "\n".join(pieces)

    def identity_words(self, group: tuple[PersonaAttribute, ...]) -> str:
        words = []
        for a in group:
            text = _text_at(self._request.messages[a.message_index].content, a.part_index) or ""
            if 0 <= a.term_start < a.term_end <= len(text):
                words.append(text[a.term_start : a.term_end])
        return " ".join(words)

    def _blank(self, index: int) -> str:
        cached = self._blanked.get(index)
        if cached is not None:
            return cached
        message = self._request.messages[index]
        spans: dict[int | None, list[tuple[int, int]]] = {}
        for a in self._persona.attributes:
            if a.message_index == index and a.start >= 0:
                spans.setdefault(a.part_index, []).append((a.start, a.end))
        pieces = []
        for pi, text in message.texts():
            chars = list(text)
            for start, end in spans.get(pi, ()):
                chars[start:end] = " " * (min(end, len(chars)) - start)
            pieces.append("".join(chars))
        self._blanked[index] = blanked = "\n".join(pieces)
        return blanked
