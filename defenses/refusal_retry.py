"""`refusal_retry`: when the model refuses a request that carries the user's identity, ask once more
with the identity taken out, and give the client that answer.

The proxy does the I/O; this module decides. Before forwarding, `retry_plan` says whether to watch
the answer for a refusal and, for a stream, how much of it to hold back (streams are retried only
when the policy allows buffering their first characters: a retry is impossible once text has reached
the client). After the answer, `refused` checks it, `retry_request` builds the second request and
`retry_action` records what happened. In `monitor` mode nothing is held back or retried: the
refusal is recorded as "would_retry".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from defenses.neutralize import neutral_copy
from defenses.types import Action, PersonaContext
from proxy.wire import ChatRequest

if TYPE_CHECKING:
    from proxy.policy import Decision

NAME = "refusal_retry"


class RefusalRetryParams(BaseModel):
    """Retry a refused persona-bearing request once with the identity neutralized."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["refusal_retry"] = "refusal_retry"
    streams: Literal["never", "buffer"] = Field(
        "never",
        description="never: only non-streaming requests are retried; buffer: hold back the first "
        "`buffer_chars` characters of a stream, and retry if they are a refusal.",
    )
    buffer_chars: int = Field(
        300, ge=20, le=4000, description="Characters of a streamed answer held back before relaying (streams: buffer)."
    )


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """What the proxy does for one request: `execute` False means record "would_retry" only;
    `buffer_chars` > 0 means hold back that much of a streamed answer (or all of it, if shorter)."""

    execute: bool
    buffer_chars: int


_MONITOR = RetryPlan(execute=False, buffer_chars=0)


def retry_plan(decision: Decision, persona: PersonaContext, *, stream: bool) -> RetryPlan | None:
    """None when this request is never retried. `persona` is the one the defenses left in the forwarded
    request (`DefenseOutcome.persona`): without an identity in the messages there is nothing to take out."""
    spec = decision.retry_on_refusal
    if spec is None or decision.mode == "off" or not _in_messages(persona):
        return None
    if decision.mode == "monitor":
        return _MONITOR
    if stream:
        return RetryPlan(True, spec.buffer_chars) if spec.streams == "buffer" else None
    return RetryPlan(True, 0)


def refused(text: str) -> bool:
    """Whether an answer is a refusal, by the project's one refusal detector."""
    from defenses.refusal import is_refusal

    return is_refusal(text)


def retry_request(request: ChatRequest, persona: PersonaContext) -> ChatRequest:
    """The forwarded request (`DefenseOutcome.request`) with every remaining identity statement removed."""
    return neutral_copy(request, persona)


def retry_action(plan: RetryPlan, *, retry_refused: bool | None = None) -> Action:
    """The record of a refusal seen: retried (and whether the retry refused too), or would have been."""
    if not plan.execute:
        return Action(NAME, "would_retry")
    detail = {} if retry_refused is None else {"retry_refused": "true" if retry_refused else "false"}
    return Action(NAME, "retried", detail=detail)


def _in_messages(persona: PersonaContext) -> bool:
    return any(a.message_index >= 0 for a in persona.attributes)
