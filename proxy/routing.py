"""Which upstream serves a model name, and which bounded label it gets in metrics."""

from __future__ import annotations

from dataclasses import dataclass

from proxy.config import Config
from proxy.errors import ProxyError
from proxy.limits import limited
from proxy.resilience import route_upstream
from proxy.upstream import Upstream, build_upstream

OTHER_MODEL = "other"
MAX_LEARNED_MODELS = 100


@dataclass(frozen=True, slots=True)
class Route:
    upstream: Upstream
    upstream_model: str  # the name sent upstream
    label: str  # the metric label: a configured name, never raw client text


class Router:
    """The model table. In quick-start mode every name goes to the default upstream, unchanged."""

    def __init__(self, config: Config) -> None:
        self.upstreams: dict[str, Upstream] = {name: limited(build_upstream(name, up), up.max_concurrency) for name, up in config.upstreams.items()}
        self._routes: dict[str, Route] = {
            name: Route(route_upstream(self.upstreams, config.upstreams, r.upstream, r.upstream_model or name, r.fallbacks), r.upstream_model or name, name)
            for name, r in config.models.items()
        }
        self._default = route_upstream(self.upstreams, config.upstreams, config.default_upstream) if config.default_upstream else None
        # Metric labels for quick-start names: only names the upstream itself lists (learned at
        # start-up), so clients cannot create series by inventing model names.
        self._known_labels: set[str] = set()

    @property
    def configured(self) -> tuple[str, ...]:
        return tuple(self._routes)

    def learn_labels(self, names: list[str]) -> None:
        for name in names[:MAX_LEARNED_MODELS]:
            self._known_labels.add(name)

    def resolve(self, model: str) -> Route:
        route = self._routes.get(model)
        if route is not None:
            return route
        if self._default is not None:
            return Route(self._default, model, model if model in self._known_labels else OTHER_MODEL)
        raise ProxyError(404, f"The model '{model}' does not exist or is not served by this proxy.", param="model", code="model_not_found")

    def label_values(self) -> tuple[str, ...]:
        """Every value the model label can take, for cardinality checks and dashboards."""
        return (*self._routes, *sorted(self._known_labels), OTHER_MODEL)
