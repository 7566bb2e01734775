"""Which stage implementations a configured proxy runs: the one place that knows them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from defenses.app_persona import parse_app_persona
from defenses.apply import apply_defenses
from defenses.grading import Expected
from defenses.persona import PersonaDetector
from defenses.taxonomy import load_taxonomy
from defenses.types import PersonaContext
from proxy.auth import Caller
from proxy.audit import build_audit
from proxy.config import Config
from proxy.errors import ProxyError
from proxy.metrics import Metrics
from proxy.observe import AnswerObserver
from proxy.pipeline import Pipeline
from proxy.policy import DEFAULT_POLICY, Decision
from proxy.policy_store import PolicyStore
from proxy.routing import Router
from proxy.wire import ChatRequest

PERSONA_HEADER = "x-evenhand-persona"
POLICY_HEADER = "x-evenhand-policy"
EXPECTED_HEADER = "x-evenhand-expected"


def persona_stage(detector: PersonaDetector) -> Callable[[ChatRequest, Mapping[str, str]], PersonaContext]:
    taxonomy = detector.taxonomy

    def detect(request: ChatRequest, headers: Mapping[str, str]) -> PersonaContext:
        header = headers.get(PERSONA_HEADER)
        app = ()
        if header is not None or request.metadata:
            try:
                app = parse_app_persona(header, request.metadata, taxonomy)
            except ValueError as exc:
                raise ProxyError(400, str(exc), param=PERSONA_HEADER if header is not None else "metadata", code="invalid_persona") from None
        return detector.detect(request, app)

    return detect


def policy_stage(store: PolicyStore) -> Callable[[ChatRequest, Caller, PersonaContext, Mapping[str, str]], Decision]:
    def choose(request: ChatRequest, caller: Caller, persona: PersonaContext, headers: Mapping[str, str]) -> Decision:
        override = headers.get(POLICY_HEADER)
        if override is not None and not caller.is_admin:
            raise ProxyError(403, "Choosing a policy per request (X-Evenhand-Policy) needs the admin key.", param=POLICY_HEADER, code="admin_required")
        return store.current.choose(request, caller, persona, override)

    return choose


def expect(request: ChatRequest, headers: Mapping[str, str]) -> Expected | None:
    """The expected answer of a labelled request, from the header or the metadata."""
    header = headers.get(EXPECTED_HEADER)
    try:
        if header is not None:
            return Expected.parse(header)
        return Expected.from_metadata(request.metadata) if request.metadata else None
    except ValueError as exc:
        raise ProxyError(400, str(exc), param=EXPECTED_HEADER if header is not None else "metadata", code="invalid_expected") from None


def build_pipeline(config: Config) -> Callable[[Router, Metrics], Pipeline]:
    """A factory for the app: it builds the stages once the metrics exist, so reloads can count."""

    def factory(router: Router, metrics: Metrics) -> Pipeline:
        detector = PersonaDetector(load_taxonomy(config.taxonomy_file))
        paths: list[Path] = list(config.policies) or [DEFAULT_POLICY]

        def on_reload(ok: bool, error: str | None) -> None:
            metrics.policy_reload(ok)
            if ok:
                metrics.policies_loaded(policy_hashes(store))

        store = PolicyStore(paths, on_reload=on_reload)
        metrics.policies_loaded(policy_hashes(store))
        pipeline = Pipeline(
            router,
            metrics,
            detect=persona_stage(detector),
            choose=policy_stage(store),
            defend=apply_defenses,
            expect=expect,
            observe=AnswerObserver,
            audit=build_audit(config.audit),
        )
        pipeline.policy_store = store
        return pipeline

    return factory


def policy_hashes(store: PolicyStore) -> dict[str, str]:
    return {p["name"]: p["sha256"] for p in store.describe()["policies"] if p["source"] == "configured"}
