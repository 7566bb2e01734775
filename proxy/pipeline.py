"""One request, one direction: parse -> detect persona -> choose policy -> apply defenses -> forward
-> observe response -> record metrics.

The server (`proxy/app.py`) only moves bytes; this module decides what happens to them. Each stage
is a plain callable with typed inputs and outputs, so it can be tested without the server, and the
server does not know which detector, policies or defenses exist.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from defenses.apply import DefenseOutcome
from defenses.types import EMPTY_PERSONA, Action, PersonaContext
from proxy.audit import AuditLog
from proxy.auth import Caller
from proxy.feedback import FeedbackStore
from proxy.metrics import NONE, Metrics
from proxy.observe import Observation, Observer
from proxy.policy import NO_POLICY, Decision
from proxy.policy_store import PolicyStore
from proxy.routing import Route, Router
from proxy.wire import ChatRequest, parse_chat_request, without_control_metadata

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


def expect_nothing(request: ChatRequest, headers: Mapping[str, str]) -> Any:
    return None


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
    expected: Any = None  # the answer a labelled request expects (defenses.grading.Expected)
    upstream_seconds: float = 0.0
    first_token_at: float | None = None
    labels: tuple[tuple[str, ...], ...] = field(default=())
    actions: list[Action] = field(default_factory=list)  # the defenses' and those taken after the answer
    authorization: str | None = field(default=None, repr=False)  # the client's, for passthrough models only

    @property
    def stream(self) -> bool:
        return bool(self.request.stream)

    @property
    def model_label(self) -> str:
        return self.route.label


CLIENT_GONE = 499  # the client left mid-stream: recorded, but not an upstream error


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
        expect: Callable[[ChatRequest, Mapping[str, str]], Any] = expect_nothing,
        observe: Callable[[Any], Observer] | None = None,
        feedback: FeedbackStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.detect = detect
        self.choose = choose
        self.defend = defend
        self.expect = expect
        self.observe = observe
        self.feedback = feedback if feedback is not None else FeedbackStore()
        self.audit = audit
        self.policy_store: PolicyStore | None = None
        self.background: set[asyncio.Task[None]] = set()  # counterfactual probes in flight
        self._stop_watching: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow the policy files: reload on change and on SIGHUP, off the hot path."""
        store = self.policy_store
        if store is None:
            return
        self._stop_watching = asyncio.Event()
        self._watcher = asyncio.create_task(store.watch(self._stop_watching))
        store.install_sighup()

    async def stop(self) -> None:
        if self.policy_store is not None:
            self.policy_store.remove_sighup()
        if self._stop_watching is not None:
            self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)

    def admin_view(self) -> dict[str, Any]:
        """What an admin may see of the running pipeline: the policies in force and their hashes."""
        return self.policy_store.describe() if self.policy_store is not None else {"policies": []}

    def prepare(self, raw: bytes, caller: Caller, headers: Mapping[str, str], started: float) -> Exchange:
        """Stages 1-3 (plus parse and route): everything before the request leaves for the upstream."""
        request = parse_chat_request(raw)
        route = self.router.resolve(request.model)
        expected = self.expect(request, headers)
        persona = self.detect(request, headers)
        decision = self.choose(request, caller, persona, headers)
        outcome = self.defend(request, persona, decision)
        body = self.upstream_body(outcome.request, request, route, raw)
        defended = "true" if outcome.changed else "false"
        labels = tuple((route.label, axis, identity, decision.policy, decision.arm, defended) for axis, identity in identity_labels(persona))
        return Exchange(request, route, caller, persona, decision, outcome, body, started, expected=expected, labels=labels, actions=list(outcome.actions))

    @staticmethod
    def upstream_body(forwarded: ChatRequest, original: ChatRequest, route: Route, raw: bytes) -> bytes:
        """The bytes to send upstream: the client's own bytes when nothing changed, else the request
        serialized again with the upstream's model name and without our control metadata."""
        forwarded = without_control_metadata(forwarded)
        if route.upstream_model != forwarded.model:
            forwarded = forwarded.model_copy(update={"model": route.upstream_model})
        return raw if forwarded is original else forwarded.to_json()

    def observer(self, exchange: Exchange) -> Observer | None:
        """Stage 5 for one answer: feed it text as it passes, then `finish()`; None when not observing."""
        return self.observe(exchange.expected) if self.observe is not None else None

    def observe_text(self, exchange: Exchange, text: str) -> Observation:
        """Stage 5 for a whole answer."""
        observer = self.observer(exchange)
        if observer is None:
            return Observation()
        observer(text)
        return observer.finish()

    def record(self, exchange: Exchange, observation: Observation, status: int, response_id: str | None = None) -> None:
        """Stage 6: every metric a finished request updates."""
        m = self.metrics
        if response_id and status < 300:
            self.feedback.remember(response_id, exchange.labels)
        if self.audit is not None:
            self.audit.record(exchange, status, response_id=response_id)
        elapsed = time.perf_counter() - exchange.started
        stream = "true" if exchange.stream else "false"
        model = exchange.model_label
        if status >= 400 and status != CLIENT_GONE:
            m.upstream_error(model, status)
        m.count(m.requests, exchange.labels)
        if observation.refused:
            m.count(m.refusals, exchange.labels)
        if observation.graded is not None:
            m.count(m.graded, (k + (observation.graded,) for k in exchange.labels))
        for action in exchange.actions:
            m.count(m.defense_actions, (k + (action.defense,) for k in exchange.labels))
        m.observe(m.request_duration, (model, stream), elapsed)
        m.observe(m.upstream_duration, (model, stream), exchange.upstream_seconds)
        m.observe(m.overhead, (stream,), max(0.0, elapsed - exchange.upstream_seconds))
        if exchange.first_token_at is not None:
            m.observe(m.ttft, (model,), exchange.first_token_at - exchange.started)

    def response_headers(self, exchange: Exchange) -> dict[str, str]:
        if not exchange.decision.headers:
            return {}
        headers = {"x-evenhand-policy": exchange.decision.policy}
        defenses = ",".join(dict.fromkeys(a.defense for a in exchange.actions))
        if defenses:
            headers["x-evenhand-defenses"] = defenses
        return headers

