"""Decisions built the way the proxy builds them: a policy validated from its YAML shape, chosen by a PolicySet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from defenses.types import PersonaContext
from proxy.auth import Caller
from proxy.policy import Decision, LoadedPolicy, Policy, PolicySet
from proxy.wire import ChatRequest


def decision(**policy: Any) -> Decision:
    """The decision for a request matched by a policy with these fields (rollout 0 gives the control arm)."""
    loaded = LoadedPolicy(Policy.model_validate({"name": "test", **policy}), Path("test.yaml"), "0" * 64, "configured")
    probe_request = ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    return PolicySet([loaded]).choose(probe_request, Caller("0123456789ab"), PersonaContext())
