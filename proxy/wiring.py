"""Which stage implementations a configured proxy runs: the one place that knows them all."""

from __future__ import annotations

from collections.abc import Callable

from proxy.config import Config
from proxy.metrics import Metrics
from proxy.pipeline import Pipeline
from proxy.routing import Router


def build_pipeline(config: Config) -> Callable[[Router, Metrics], Pipeline]:
    def factory(router: Router, metrics: Metrics) -> Pipeline:
        return Pipeline(router, metrics)

    return factory
