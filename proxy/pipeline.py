"""One request, one direction: parse -> detect persona -> choose policy -> apply defenses -> forward
-> observe response -> record metrics.

The server (`proxy/app.py`) only moves bytes; this module decides what happens to them. Each stage
is a plain callable with typed inputs and outputs, so it can be tested without the server, and the
server does not know which detector, policies or defenses exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from defenses.types import EMPTY_PERSONA, Action, PersonaContext
from proxy.auth import Caller
from proxy.metrics import NONE, Metrics
from proxy.observe import Observation
from proxy.routing import Route, Router
from proxy.wire import ChatRequest, parse_chat_request

Mode = Literal["enforce", "monitor", "off"]


@dataclass(frozen=True, slots=True)
class Decision:
    """Which policy governs a request, how, and in which A/B arm."""

    policy: str
    mode: Mode
    arm: str


NO_POLICY = Decision(policy=NONE, mode="off", arm=NONE)


@dataclass(frozen=True, slots=True)
class DefenseOutcome:
    request: ChatRequest
    actions: tuple[Action, ...] = ()
    changed: bool = False


class Detect(Protocol):
    def __call__(self, request: ChatRequest, headers: Mapping[str, str]) -> PersonaContext: ...


class Choose(Protocol):
    def __call__(self, request: ChatRequest, caller: Caller, persona: PersonaContext, headers: Mapping[str, str]) -> Decision: ...


class Defend(Protocol):
    def __call__(self, request: ChatRequest, persona: PersonaContext, decision: Decision) -> DefenseOutcome: ...


def detect_nothing(request: ChatRequest, headers: Mapping[str, str]) -> PersonaContext:
    return EMPTY_PERSONA


def choose_nothing(request: ChatRequest, caller: Caller, persona: PersonaContext, headers: Mapping[str, str]) -> Decision:
    return NO_POLICY


def defend_nothing(request: ChatRequest, persona: PersonaContext, decision: Decision) -> DefenseOutcome:
    return DefenseOutcome(request)


@dataclass(slots=True)
class Exchange:
    """Everything known about one request as it moves through the stages."""

    request: ChatRequest
    route: Route
    caller: Caller
    persona: PersonaContext
    decision: Decision
    outcome: DefenseOutcome
    body: bytes  # what goes upstream
    started: float
    upstream_seconds: float = 0.0
    first_token_at: float | None = None
    labels: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def stream(self) -> bool:
        return bool(self.request.stream)

    @property
    def model_label(self) -> str:
        return self.route.label


def identity_labels(persona: PersonaContext) -> tuple[tuple[str, str], ...]:
    """(axis, identity) pairs a request counts under: each identity once, or ('none', 'none')."""
    return persona.identities() or ((NONE, NONE),)


class Pipeline:
    def __init__(
        self,
        router: Router,
        metrics: Metrics,
        detect: Detect = detect_nothing,
        choose: Choose = choose_nothing,
        defend: Defend = defend_nothing,
        refusal: Callable[[str], bool] | None = None,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.detect = detect
        self.choose = choose
        self.defend = defend
        self.refusal = refusal

    def prepare(self, raw: bytes, caller: Caller, headers: Mapping[str, str], started: float) -> Exchange:
        """Stages 1-3 (plus parse and route): everything before the request leaves for the upstream."""
        request = parse_chat_request(raw)
        route = self.router.resolve(request.model)
        persona = self.detect(request, headers)
        decision = self.choose(request, caller, persona, headers)
        outcome = self.defend(request, persona, decision)
        forwarded = outcome.request
        if route.upstream_model != request.model:
            forwarded = forwarded.model_copy(update={"model": route.upstream_model})
        body = forwarded.to_json() if forwarded is not request else raw
        defended = "true" if outcome.changed else "false"
        labels = tuple((route.label, axis, identity, decision.policy, decision.arm, defended) for axis, identity in identity_labels(persona))
        return Exchange(request, route, caller, persona, decision, outcome, body, started, labels=labels)

    def observe_text(self, exchange: Exchange, text: str | None) -> Observation:
        """Stage 5 for a whole answer."""
        if text is None or self.refusal is None:
            return Observation()
        return Observation(refused=self.refusal(text))

    def record(self, exchange: Exchange, observation: Observation, status: int) -> None:
        """Stage 6: every metric a finished request updates."""
        m = self.metrics
        elapsed = time.perf_counter() - exchange.started
        stream = "true" if exchange.stream else "false"
        model = exchange.model_label
        if status >= 400:
            m.upstream_error(model, status)
        m.count(m.requests, exchange.labels)
        if observation.refused:
            m.count(m.refusals, exchange.labels)
        if observation.graded is not None:
            m.count(m.graded, (k + (observation.graded,) for k in exchange.labels))
        for action in exchange.outcome.actions:
            m.count(m.defense_actions, (k + (action.defense,) for k in exchange.labels))
        m.observe(m.request_duration, (model, stream), elapsed)
        m.observe(m.upstream_duration, (model, stream), exchange.upstream_seconds)
        m.observe(m.overhead, (stream,), max(0.0, elapsed - exchange.upstream_seconds))
        if exchange.first_token_at is not None:
            m.observe(m.ttft, (model,), exchange.first_token_at - exchange.started)

    def response_headers(self, exchange: Exchange) -> dict[str, str]:
        headers = {"x-evenhand-policy": exchange.decision.policy}
        defenses = ",".join(dict.fromkeys(a.defense for a in exchange.outcome.actions))
        if defenses:
            headers["x-evenhand-defenses"] = defenses
        return headers

