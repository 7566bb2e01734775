"""Policy reloads under load, a short run of loadtest/reload_soak.py (the full 100 is a separate command)."""

from __future__ import annotations

import asyncio

import yaml

from loadtest.reload_soak import BASELINE, config_for, soak
from tests.servers import start_proxy_with_config


def test_reloads_under_load_fail_nothing_and_mix_nothing(fake_upstream, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(BASELINE))
    config = tmp_path / "evenhand.yaml"
    proxy = start_proxy_with_config(config, config_for(f"{fake_upstream.url}/v1", policy))
    try:
        result = asyncio.run(soak(proxy.url, policy, reloads=12, concurrency=4))
    finally:
        proxy.stop()
    assert result.problems == []
    assert result.failed == 0 and result.mismatched == 0
    assert result.requests > 0
    assert set(result.by_policy) == {"neutral", "baseline"}
    assert result.reloads_failed >= 4 and result.reloads_ok >= 8  # an in-place save may be seen twice
