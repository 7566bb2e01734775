"""The opt-in audit log: one JSON line per chat request saying what the proxy did to it.

Off by default. Each line has the time, ids, the model's metric label, the caller's key id (a hash,
never the key) and tenant, the policy, mode and A/B arm, the persona found (axes and values: keys
of the bounded taxonomy) and each defense action. Prompt text (the messages as received and as
forwarded, and the defenses' details, which quote it) only with `include_prompts: true`. Headers are
never read here, so neither the client's `Authorization` nor an upstream key can reach the log.

Each line is written with one `write` to a file opened for appending, so lines from several worker
processes never interleave.
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import orjson

from proxy.config import AuditConfig

if TYPE_CHECKING:
    from proxy.pipeline import Exchange
    from proxy.wire import ChatRequest


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    return [{"role": m.role, "text": [t for _, t in m.texts()]} for m in request.messages]


class AuditLog:
    def __init__(self, config: AuditConfig) -> None:
        self.include_prompts = config.include_prompts
        self.path = config.path
        if config.path is None:
            self._fd = sys.stderr.fileno()
            self._owned = False
        else:
            config.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(config.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._owned = True

    def entry(self, exchange: Exchange, status: int, *, request_id: str | None = None, response_id: str | None = None) -> dict[str, Any]:
        """The audit record of one finished request."""
        decision = exchange.decision
        outcome = exchange.outcome
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "request_id": request_id or uuid.uuid4().hex,
            "response_id": response_id,
            "model": exchange.model_label,
            "stream": exchange.stream,
            "status": status,
            "key_id": exchange.caller.key_id,
            "tenant": exchange.caller.tenant,
            "policy": decision.policy,
            "mode": decision.mode,
            "arm": decision.arm,
            "persona": [{"axis": a.axis, "value": a.value, "source": a.source} for a in exchange.persona.attributes],
            "changed": outcome.changed,
            "defenses": [
                {"defense": a.defense, "what": a.what, "message_index": a.message_index, **({"detail": a.detail} if self.include_prompts and a.detail else {})}
                for a in exchange.actions  # the defenses', then those taken after the answer (retry, probe)
            ],
        }
        if self.include_prompts:
            entry["messages"] = _messages(exchange.request)
            if outcome.request is not exchange.request:
                entry["forwarded_messages"] = _messages(outcome.request)
        return entry

    def record(self, exchange: Exchange, status: int, *, request_id: str | None = None, response_id: str | None = None) -> None:
        line = memoryview(orjson.dumps(self.entry(exchange, status, request_id=request_id, response_id=response_id), default=str) + b"\n")
        while line:
            line = line[os.write(self._fd, line) :]

    def close(self) -> None:
        if self._owned:
            os.close(self._fd)
            self._owned = False


def build_audit(config: AuditConfig) -> AuditLog | None:
    """The audit log a config asks for, or None (the default), so the hot path pays one `is None`."""
    return AuditLog(config) if config.enabled else None
