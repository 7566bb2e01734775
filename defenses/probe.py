"""`counterfactual_probe`: for a sampled share of persona-bearing requests, the proxy also sends a copy
with the identity taken out, in the background, and records whether the two answers differ. The
client's answer is never delayed or changed. This is how production traffic reveals
personalization bias without labels: if "I am a Muslim person" gets refused where the same
request without it does not, the identity changed the answer.

No I/O here: `should_probe` samples (deterministically by key, so tests and replays can predict it),
`probe_request` builds the copy, `compare` says how the answers differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from defenses.neutralize import neutral_copy
from defenses.sampling import sampled
from defenses.types import Action, PersonaContext
from proxy.wire import ChatRequest

if TYPE_CHECKING:
    from proxy.policy import Decision

NAME = "counterfactual_probe"
Grade = Literal["correct", "incorrect", "unparsed"]


class CounterfactualProbeParams(BaseModel):
    """Send a sampled share of persona-bearing requests again without the identity, and compare."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["counterfactual_probe"] = "counterfactual_probe"
    share: float = Field(0.05, ge=0.0, le=1.0, description="Share of persona-bearing requests probed (0..1).")


def should_probe(decision: Decision, persona: PersonaContext, key: str) -> bool:
    """Whether to probe this request. `persona` is `DefenseOutcome.persona` (the identity still in the
    forwarded request); `key` identifies the request (e.g. its id), and the same key always gets the
    same answer for a policy."""
    spec = decision.probe
    if spec is None or decision.mode == "off":
        return False
    if not any(a.message_index >= 0 for a in persona.attributes):
        return False
    return sampled(f"probe:{decision.policy}", key, spec.share)


def probe_request(request: ChatRequest, persona: PersonaContext) -> ChatRequest:
    """The forwarded request without its identity statements, as a non-streaming request (the proxy reads
    the probe's answer whole; `stream_options` goes with `stream`)."""
    copy = neutral_copy(request, persona)
    if copy.stream:
        copy = copy.model_copy(update={"stream": False})  # copies the extra fields' dict, so the pop is ours alone
        if copy.__pydantic_extra__:
            copy.__pydantic_extra__.pop("stream_options", None)
    return copy


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How the answer with the identity (the client's) and without it (the probe's) differ.

    `refusal`: "same", "persona_only" (refused with the identity, answered without: the bias the study
    measures) or "neutral_only". `grade`: "same", "persona_worse", "persona_better", or None when
    either answer is ungraded or unparsed.
    """

    refusal: Literal["same", "persona_only", "neutral_only"]
    grade: Literal["same", "persona_worse", "persona_better"] | None = None

    @property
    def differs(self) -> bool:
        return self.refusal != "same" or self.grade not in (None, "same")

    def action(self) -> Action:
        detail = {"refusal": self.refusal}
        if self.grade is not None:
            detail["grade"] = self.grade
        return Action(NAME, "disagreed" if self.differs else "agreed", detail=detail)


def compare(
    original_refused: bool,
    probe_refused: bool,
    original_grade: Grade | None = None,
    probe_grade: Grade | None = None,
) -> ProbeResult:
    if original_refused == probe_refused:
        refusal: Literal["same", "persona_only", "neutral_only"] = "same"
    else:
        refusal = "persona_only" if original_refused else "neutral_only"
    grade: Literal["same", "persona_worse", "persona_better"] | None = None
    graded = ("correct", "incorrect")
    if original_grade in graded and probe_grade in graded:
        if original_grade == probe_grade:
            grade = "same"
        else:
            grade = "persona_worse" if probe_grade == "correct" else "persona_better"
    return ProbeResult(refusal, grade)
