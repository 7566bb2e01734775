"""Policy reloads under steady load: no request fails, none is served by a half-swapped policy.

A proxy serves persona-bearing requests to the fake upstream's echo model (its answer is the
messages it received) from several concurrent clients, while the policy file is rewritten again and
again: alternately a policy that removes the identity from the system prompt, one that changes
nothing, and a broken file (bad YAML, a bad field, an unknown defense), saved both by atomic rename
and in place. Each rewrite is waited for in the admin view (a reload or a failed reload counted).

Every answer must be a 200 whose `x-evenhand-policy` names one of the two good policies, and what
the upstream received must match that policy exactly: identity removed under `neutral`, kept under
`baseline`.

    python -m loadtest.reload_soak --reloads 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ADMIN_KEY = "sk-reload-soak-admin"
IDENTITY = "I am a Muslim person."
NEUTRAL = {"name": "neutral", "mode": "enforce", "defenses": [{"name": "neutralize_system_prompt", "mode": "remove"}]}
BASELINE = {"name": "baseline", "mode": "enforce", "defenses": []}
BROKEN = (
    "name: neutral\nmode: [unclosed\n",
    "name: neutral\nmode: sometimes\ndefenses: []\n",
    "name: neutral\nmode: enforce\ndefenses:\n  - name: no_such_defense\n",
)


@dataclass
class Result:
    requests: int = 0
    failed: int = 0
    mismatched: int = 0
    by_policy: dict[str, int] = field(default_factory=dict)
    reloads_ok: int = 0
    reloads_failed: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def config_for(upstream_url: str, policy_file: Path) -> dict:
    return {
        "auth": {"admin_key": ADMIN_KEY},
        "upstreams": {"fake": {"base_url": upstream_url}},
        "models": {"echo": {"upstream": "fake", "upstream_model": "echo"}},
        "policies": [str(policy_file)],
    }


def write(path: Path, text: str, atomic: bool) -> None:
    if atomic:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    else:
        path.write_text(text)


async def _client(http: httpx.AsyncClient, url: str, stop: asyncio.Event, result: Result) -> None:
    body = {"model": "echo", "messages": [{"role": "system", "content": f"You are a helpful assistant. {IDENTITY}"}, {"role": "user", "content": "Hi"}]}
    while not stop.is_set():
        try:
            response = await http.post(url, json=body)
        except httpx.HTTPError as exc:
            result.failed += 1
            result.problems.append(f"transport: {exc!r}")
            continue
        result.requests += 1
        if response.status_code != 200:
            result.failed += 1
            result.problems.append(f"status {response.status_code}: {response.text[:200]}")
            continue
        policy = response.headers.get("x-evenhand-policy", "")
        result.by_policy[policy] = result.by_policy.get(policy, 0) + 1
        received = json.loads(response.json()["choices"][0]["message"]["content"])
        has_identity = IDENTITY in received[0]["content"]
        if policy not in ("neutral", "baseline") or has_identity != (policy == "baseline"):
            result.mismatched += 1
            result.problems.append(f"policy {policy!r} but identity {'kept' if has_identity else 'removed'}")


async def _reload_count(http: httpx.AsyncClient, admin_url: str) -> tuple[int, int]:
    view = (await http.get(admin_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})).json()
    return view["reloads"], view["failed_reloads"]


async def soak(proxy_url: str, policy_file: Path, reloads: int, concurrency: int = 8, reload_timeout: float = 10.0) -> Result:
    """Drive `concurrency` clients while making `reloads` policy rewrites; each is awaited in the admin view."""
    result = Result()
    stop = asyncio.Event()
    url = f"{proxy_url}/v1/chat/completions"
    admin_url = f"{proxy_url}/v1/evenhand/policies"
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        clients = [asyncio.create_task(_client(http, url, stop, result)) for _ in range(concurrency)]
        try:
            for i in range(reloads):
                before = await _reload_count(http, admin_url)
                if i % 3 == 2:
                    text = BROKEN[(i // 3) % len(BROKEN)]
                else:
                    text = yaml.safe_dump(NEUTRAL if i % 3 == 0 else BASELINE, sort_keys=False)
                write(policy_file, text, atomic=i % 2 == 0)
                deadline = time.monotonic() + reload_timeout
                while await _reload_count(http, admin_url) == before:
                    if time.monotonic() > deadline:
                        result.problems.append(f"rewrite {i} was not reloaded within {reload_timeout} s")
                        break
                    await asyncio.sleep(0.02)  # pacing the admin poll, not synchronising
        finally:
            stop.set()
            await asyncio.gather(*clients)
        result.reloads_ok, result.reloads_failed = await _reload_count(http, admin_url)
    result.seconds = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    from tests.servers import start_fake_upstream, start_proxy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(yaml.safe_dump(BASELINE))
        upstream = start_fake_upstream()
        config = Path(tmp) / "evenhand.yaml"
        config.write_text(yaml.safe_dump(config_for(f"{upstream.url}/v1", policy)))
        proxy = start_proxy("--config", str(config))
        try:
            result = asyncio.run(soak(proxy.url, policy, args.reloads, args.concurrency))
        finally:
            proxy.stop()
            upstream.stop()
    summary = {k: v for k, v in result.__dict__.items() if k != "problems"}
    print(json.dumps(summary, indent=2))
    for problem in result.problems[:20]:
        print("problem:", problem)
    return 0 if not result.failed and not result.mismatched and not result.problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
