"""`evenhand policy check FILE...` and `evenhand policy schema`: validate policy files before deploying
them, and give editors the JSON Schema of the format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from proxy.policy import read_policies, policy_schema, specificity


def check(paths: list[Path], out: TextIO, err: TextIO) -> int:
    """Validate files (or directories of them) as one policy set. Exit status: 0 all good, 1 errors, 2 usage."""
    if not paths:
        err.write("usage: evenhand policy check FILE_OR_DIRECTORY...\n")
        return 2
    loaded, errors = read_policies(paths)
    for p in loaded:
        policy = p.policy
        defenses = ", ".join(d.name for d in policy.defenses) or "none"
        rollout = f", rollout {policy.rollout:g}" if policy.rollout < 1 else ""
        out.write(f"{p.file}: ok: policy '{policy.name}', mode {policy.mode}{rollout}, defenses: {defenses}\n")
    for e in errors:
        err.write(f"{e}\n")
    if errors:
        err.write(f"{len(errors)} error{'s' if len(errors) != 1 else ''}; nothing is valid until all are fixed.\n")
        return 1
    if loaded and not any(specificity(p.policy.scope) == (False, False, False, False) for p in loaded):
        out.write(
            "note: no policy here has an empty scope, so requests that none of them matches get no policy. "
            "Add policies/default.yaml (or a policy with `scope: {}`) to cover them.\n"
        )
    return 0


def schema(out: TextIO) -> int:
    """Print the JSON Schema of a policy file."""
    out.write(json.dumps(policy_schema(), indent=2) + "\n")
    return 0
