"""The "apply defenses" stage: run the decision's defenses on one request.

Rewrites run first, in policy order, each on the previous one's output; then the instruction blocks
are placed in one pass (so several at one position keep their policy order). `monitor` computes
everything and returns the client's request untouched; `off`, the control arm, and a request with no
identity (unless the policy applies always) return at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from defenses.instructions import place
from defenses.types import EMPTY_PERSONA, Action, PersonaContext
from proxy.wire import ChatRequest

if TYPE_CHECKING:
    from proxy.policy import Decision


class DefenseOutcome(NamedTuple):
    """The request to forward, what was done (or, in monitor mode, would have been), whether the request
    changed, and the identities still in the forwarded request (spans into its text: what
    `refusal_retry` and `counterfactual_probe` take out).

    Each action's `message_index` is the index of the message it concerns in the request as the client
    sent it, or -1 for a message we added (an instruction of its own).
    """

    request: ChatRequest
    actions: tuple[Action, ...] = ()
    changed: bool = False
    persona: PersonaContext = EMPTY_PERSONA


def apply_defenses(request: ChatRequest, persona: PersonaContext, decision: Decision) -> DefenseOutcome:
    if decision.mode == "off" or (not persona.attributes and not decision.apply_always):
        return DefenseOutcome(request, (), False, persona)
    rewrites = decision.rewrites
    instructions = decision.instructions
    if not rewrites and not instructions:
        return DefenseOutcome(request, (), False, persona)
    current, remaining = request, persona
    actions: list[Action] = []
    origin: list[int] | None = None  # client's index of each current message, once a message was dropped
    for step in rewrites:
        current, remaining, done = step.run(current, remaining, step.params)
        if not done:
            continue
        dropped = {a.message_index for a in done if a.what == "dropped_message"}
        actions.extend(done if origin is None else (_renumbered(a, origin) for a in done))
        if dropped:
            base = origin if origin is not None else list(range(len(request.messages)))
            origin = [o for i, o in enumerate(base) if i not in dropped]
    if instructions:
        current, remaining, done = place(current, remaining, instructions)
        actions.extend(done if origin is None else (_renumbered(a, origin) for a in done))
    if decision.mode == "monitor":
        return DefenseOutcome(request, tuple(actions), False, persona)
    return DefenseOutcome(current, tuple(actions), current is not request, remaining)


def _renumbered(action: Action, origin: list[int]) -> Action:
    if action.message_index < 0:
        return action
    return Action(action.defense, action.what, origin[action.message_index], action.detail)
