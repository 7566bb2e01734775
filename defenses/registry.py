"""Every defense by name: what kind it is, the model of its parameters, and the pure function that applies it.

Kinds: `rewrite` defenses change the client's text (run first, in policy order); `instruction`
defenses add a block of our own text (placed after the rewrites, in policy order, by
`defenses.instructions.place`); `response` defenses act on the upstream's answer and are carried
out by the proxy with the helpers in `refusal_retry` and `probe`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from defenses.instructions import (
    EqualTreatmentParams,
    IdentityLeakGuardParams,
    Instruction,
    SafetyReminderParams,
    equal_treatment,
    identity_leak_guard,
    instruction,
    safety_reminder,
)
from defenses.neutralize import (
    NeutralizeSystemPromptParams,
    NeutralizeUserIdentityParams,
    Rewritten,
    neutralize_system_prompt,
    neutralize_user_identity,
)
from defenses.probe import CounterfactualProbeParams
from defenses.refusal_retry import RefusalRetryParams
from defenses.types import PersonaContext
from proxy.wire import ChatRequest

Kind = Literal["rewrite", "instruction", "response"]
DefenseFunction = Callable[[ChatRequest, PersonaContext, Any], Rewritten]


@dataclass(frozen=True, slots=True)
class Defense:
    name: str
    kind: Kind
    params: type[BaseModel]
    run: DefenseFunction | None  # None for response defenses: the proxy carries them out
    summary: str


def _defense(kind: Kind, params: type[BaseModel], run: DefenseFunction | None) -> Defense:
    name = params.model_fields["name"].default
    return Defense(name, kind, params, run, (params.__doc__ or "").strip())


DEFENSES: dict[str, Defense] = {
    d.name: d
    for d in (
        _defense("rewrite", NeutralizeSystemPromptParams, neutralize_system_prompt),
        _defense("rewrite", NeutralizeUserIdentityParams, neutralize_user_identity),
        _defense("instruction", EqualTreatmentParams, equal_treatment),
        _defense("instruction", IdentityLeakGuardParams, identity_leak_guard),
        _defense("instruction", SafetyReminderParams, safety_reminder),
        _defense("response", RefusalRetryParams, None),
        _defense("response", CounterfactualProbeParams, None),
    )
}

DefenseSpec = Annotated[
    NeutralizeSystemPromptParams
    | NeutralizeUserIdentityParams
    | EqualTreatmentParams
    | IdentityLeakGuardParams
    | SafetyReminderParams
    | RefusalRetryParams
    | CounterfactualProbeParams,
    Field(discriminator="name"),
]
"""One entry of a policy's `defenses:` list: `name` picks the defense, the other keys are its parameters."""


class RewriteStep(NamedTuple):
    name: str
    run: DefenseFunction
    params: BaseModel


@dataclass(frozen=True, slots=True)
class DefensePlan:
    """A policy's defenses compiled once at load time, in the shape the hot path wants."""

    names: tuple[str, ...] = ()
    rewrites: tuple[RewriteStep, ...] = ()
    instructions: tuple[Instruction, ...] = ()
    retry_on_refusal: RefusalRetryParams | None = None
    probe: CounterfactualProbeParams | None = None


def plan(specs: Sequence[BaseModel]) -> DefensePlan:
    rewrites: list[RewriteStep] = []
    instructions: list[Instruction] = []
    retry = None
    probe = None
    for spec in specs:
        defense = DEFENSES[spec.name]  # type: ignore[attr-defined]
        if defense.kind == "rewrite":
            assert defense.run is not None
            rewrites.append(RewriteStep(defense.name, defense.run, spec))
        elif defense.kind == "instruction":
            instructions.append(instruction(spec))  # type: ignore[arg-type]
        elif isinstance(spec, RefusalRetryParams):
            retry = spec
        elif isinstance(spec, CounterfactualProbeParams):
            probe = spec
    return DefensePlan(
        names=tuple(s.name for s in specs),  # type: ignore[attr-defined]
        rewrites=tuple(rewrites),
        instructions=tuple(instructions),
        retry_on_refusal=retry,
        probe=probe,
    )
