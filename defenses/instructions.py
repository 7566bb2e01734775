"""Defenses that add an instruction for the model: `equal_treatment`, `identity_leak_guard`, `safety_reminder`.

They share one placement mechanism, `place`, and one rule that keeps them from being injectable:
the instruction text comes only from the policy file, verbatim — nothing from the request is ever
formatted into it — and it stays a block of its own: a message of its own, a content part of its
own, or a paragraph of its own separated by a blank line. We use no marker ("[Evenhand
instruction]"): a marker is text, and any client can type text, so a marker would only give a
forged block something to imitate. Where our block sits is decided by structure, not by labels.

Positions (`position:` in the policy):
- `system_end` (default): a paragraph appended to the first system/developer message (a separate
  text part when its content is a list of parts), so the app's own prompt still comes first;
- `system_start`: the same, prepended;
- `new_system_message`: a system message of its own, right after the leading system/developer
  messages (first in the conversation when there are none), with the role they use;
- `user_end`: a paragraph appended to the last user message: the original self-reminder shape,
  where the reminder follows the query; the model sees it as part of the user's turn.
With no system/developer message, `system_end` and `system_start` add one at the start.
Several instructions at one position keep their policy order, joined by blank lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from defenses.neutralize import SYSTEM_ROLES, Rewritten
from defenses.types import Action, PersonaAttribute, PersonaContext
from proxy.wire import ChatRequest, ContentPart, Message

Position = Literal["system_end", "system_start", "new_system_message", "user_end"]

EQUAL_TREATMENT_TEXT = (
    "Give every user the same quality of help, whoever they are or say they are. Accuracy, effort, level of "
    "detail and safety standards must not depend on the user's religion, race, gender, age, disability, "
    "sexuality or political views: answer as you would answer anyone, and decline only what you would "
    "decline for anyone."
)
IDENTITY_LEAK_GUARD_TEXT = (
    "Answer in your own voice, as the assistant. Do not adopt, role-play or speak as the user's identity, "
    "and never write as if you share it (for example, never begin \"As a disabled person, I...\"). You may "
    "take into account what the user tells you about themselves when it matters for the answer."
)
SAFETY_REMINDER_TEXT = (
    "You should be a responsible assistant and should not generate harmful or misleading content. "
    "Answer the user's request in a responsible way, with the same care whoever the user is."
)
_SEPARATOR = "\n\n"


def _clean(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("the instruction text must not be empty")
    return text


InstructionText = Annotated[str, Field(max_length=4000), AfterValidator(_clean)]


class _InstructionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    position: Position = Field(
        "system_end",
        description="system_end: a paragraph after the first system message; system_start: before it; "
        "new_system_message: a system message of its own; user_end: a paragraph after the last user message.",
    )


class EqualTreatmentParams(_InstructionParams):
    """Tell the model that accuracy, effort and safety must not depend on who the user is."""

    name: Literal["equal_treatment"] = "equal_treatment"
    text: InstructionText = Field(EQUAL_TREATMENT_TEXT, description="The instruction, sent verbatim.")


class IdentityLeakGuardParams(_InstructionParams):
    """Tell the model not to adopt or speak as the user's identity ("As a disabled person, I...")."""

    name: Literal["identity_leak_guard"] = "identity_leak_guard"
    text: InstructionText = Field(IDENTITY_LEAK_GUARD_TEXT, description="The instruction, sent verbatim.")


class SafetyReminderParams(_InstructionParams):
    """The self-reminder defense: remind the model to answer responsibly."""

    name: Literal["safety_reminder"] = "safety_reminder"
    text: InstructionText = Field(SAFETY_REMINDER_TEXT, description="The reminder, sent verbatim.")


InstructionParams = EqualTreatmentParams | IdentityLeakGuardParams | SafetyReminderParams


@dataclass(frozen=True, slots=True)
class Instruction:
    """One block to place: built once from the policy, never from a request."""

    defense: str
    text: str
    position: Position


def instruction(params: InstructionParams) -> Instruction:
    return Instruction(params.name, params.text, params.position)


def equal_treatment(request: ChatRequest, persona: PersonaContext, params: EqualTreatmentParams) -> Rewritten:
    return place(request, persona, (instruction(params),))


def identity_leak_guard(request: ChatRequest, persona: PersonaContext, params: IdentityLeakGuardParams) -> Rewritten:
    return place(request, persona, (instruction(params),))


def safety_reminder(request: ChatRequest, persona: PersonaContext, params: SafetyReminderParams) -> Rewritten:
    return place(request, persona, (instruction(params),))


def place(request: ChatRequest, persona: PersonaContext, instructions: Sequence[Instruction]) -> Rewritten:
    """Add the instructions at their positions; the persona's spans follow the text they point into.

    An action's `message_index` is the index, in `request`, of the message that received the block,
    or -1 when the block is a message of its own.
    """
    if not instructions:
        return Rewritten(request, persona, ())
    by_position: dict[str, list[Instruction]] = {}
    for ins in instructions:
        by_position.setdefault(ins.position, []).append(ins)
    messages = list(request.messages)
    attributes = list(persona.attributes)
    placed: list[tuple[Instruction, int]] = []  # (instruction, index of the client's message holding it, -1: ours)

    def inserted_at(index: int) -> None:
        for i, a in enumerate(attributes):
            if a.message_index >= index:
                attributes[i] = replace(a, message_index=a.message_index + 1)

    user_end = by_position.get("user_end", [])
    last_user = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if user_end and last_user is None:
        by_position.setdefault("system_end", []).extend(user_end)
        user_end = []
    if user_end:
        assert last_user is not None
        messages[last_user] = _appended(messages[last_user], _SEPARATOR.join(i.text for i in user_end))
        placed.extend((i, last_user) for i in user_end)

    start = by_position.get("system_start", [])
    end = by_position.get("system_end", [])
    first_system = next((i for i, m in enumerate(messages) if m.role in SYSTEM_ROLES), None)
    if (start or end) and first_system is None:
        messages.insert(0, _system_message("system", _SEPARATOR.join(i.text for i in start + end)))
        inserted_at(0)
        placed.extend((i, -1) for i in start + end)
    elif start or end:
        assert first_system is not None
        message = messages[first_system]
        if end:
            message = _appended(message, _SEPARATOR.join(i.text for i in end))
        if start:
            message, shift = _prepended(message, _SEPARATOR.join(i.text for i in start))
            for k, a in enumerate(attributes):
                if a.message_index == first_system:
                    attributes[k] = _shifted(a, shift)
        messages[first_system] = message
        placed.extend((i, first_system) for i in start + end)

    separate = by_position.get("new_system_message", [])
    if separate:
        at = 0
        while at < len(messages) and messages[at].role in SYSTEM_ROLES:
            at += 1
        role = messages[0].role if at > 0 else "system"
        messages.insert(at, _system_message(role, _SEPARATOR.join(i.text for i in separate)))
        inserted_at(at)
        placed.extend((i, -1) for i in separate)

    order = {ins: n for n, ins in enumerate(instructions)}
    placed.sort(key=lambda p: order[p[0]])
    actions = tuple(Action(ins.defense, "added", at, {"position": ins.position}) for ins, at in placed)
    return Rewritten(
        request.model_copy(update={"messages": messages}),
        PersonaContext(tuple(attributes)),
        actions,
    )


def _system_message(role: str, text: str) -> Message:
    return Message.model_construct(role=role, content=text)


def _appended(message: Message, text: str) -> Message:
    content = message.content
    if isinstance(content, list):
        return message.model_copy(update={"content": [*content, ContentPart.model_construct(type="text", text=text)]})
    if not content:
        return message.model_copy(update={"content": text})
    return message.model_copy(update={"content": content + _SEPARATOR + text})


def _prepended(message: Message, text: str) -> tuple[Message, tuple[int, int]]:
    """The message with `text` first, and how its spans move: (parts shift, characters shift)."""
    content = message.content
    if isinstance(content, list):
        return message.model_copy(update={"content": [ContentPart.model_construct(type="text", text=text), *content]}), (1, 0)
    if not content:
        return message.model_copy(update={"content": text}), (0, 0)
    prefix = text + _SEPARATOR
    return message.model_copy(update={"content": prefix + content}), (0, len(prefix))


def _shifted(a: PersonaAttribute, shift: tuple[int, int]) -> PersonaAttribute:
    parts, chars = shift
    if parts:
        return replace(a, part_index=None if a.part_index is None else a.part_index + parts)
    if not chars:
        return a
    return replace(
        a,
        start=a.start + chars,
        end=a.end + chars,
        term_start=a.term_start + chars if a.term_start >= 0 else a.term_start,
        term_end=a.term_end + chars if a.term_end >= 0 else a.term_end,
    )
