"""Policy gauges in one process and across worker processes: one series per policy whatever the
number of workers, and none left behind by a worker that is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from proxy.config import Config
from proxy.metrics import Metrics, forget_dead_processes
from tests.servers import REPO


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in registry.collect() for s in family.samples}


def policy_info(registry: CollectorRegistry) -> dict[tuple, float]:
    return {labels: v for (name, labels), v in samples(registry).items() if name == "evenhand_policy_info"}


def run(code: str, multiproc: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PATH": "", **env})
    assert result.returncode == 0, result.stderr
    return result


def test_replaced_policies_drop_to_zero_and_reloads_count_by_result() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.policies_loaded({"default": "aaa"})
    metrics.policies_loaded({"default": "bbb", "strict": "ccc"})
    metrics.policy_reload(ok=True)
    metrics.policy_reload(ok=False)
    metrics.policy_reload(ok=False)
    assert policy_info(metrics.registry) == {
        (("policy", "default"), ("sha256", "aaa")): 0.0,
        (("policy", "default"), ("sha256", "bbb")): 1.0,
        (("policy", "strict"), ("sha256", "ccc")): 1.0,
    }
    reloads = {labels: v for (name, labels), v in samples(metrics.registry).items() if name == "evenhand_policy_reloads_total"}
    assert reloads == {(("result", "ok"),): 1.0, (("result", "error"),): 2.0}
    assert b"_created" not in generate_latest(metrics.registry)


def test_workers_share_one_policy_series_and_a_dead_workers_gauges_go(tmp_path: Path) -> None:
    set_policy = "from proxy.metrics import Metrics; Metrics().policies_loaded({'default': '%s'})"
    # Two workers that loaded the same policy, then one crashed (no exit handlers ran).
    run(set_policy % "aaa", tmp_path)
    run(set_policy % "aaa" + "; import os; os._exit(0)", tmp_path)
    live = subprocess.Popen([sys.executable, "-c", set_policy % "bbb" + "; import sys; print('ready', flush=True); sys.stdin.read()"],
                            cwd=REPO, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout is not None and live.stdout.readline() == "ready\n"
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path))
        assert policy_info(registry) == {(("policy", "default"), ("sha256", "aaa")): 1.0, (("policy", "default"), ("sha256", "bbb")): 1.0}

        forget_dead_processes(str(tmp_path))
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path))
        assert policy_info(registry) == {(("policy", "default"), ("sha256", "bbb")): 1.0}
    finally:
        live.communicate("")


def test_a_worker_that_exits_takes_its_policy_gauges_along(tmp_path: Path) -> None:
    config = Config.model_validate({"upstreams": {"fake": {"base_url": "http://127.0.0.1:9/v1"}}, "default_upstream": "fake"})
    run(
        "from proxy.server import app_from_env; app = app_from_env(); app.state.evenhand.metrics.policies_loaded({'default': 'aaa'})",
        tmp_path,
        EVENHAND_CONFIG_JSON=config.model_dump_json(),
    )
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert policy_info(registry) == {}
    assert list(tmp_path.glob("counter_*.db")), "counters stay: their counts still belong in the totals"
