"""Whether a client's own `Authorization` goes upstream: only for models configured for it.

By default the client's header stays at the proxy and upstreams get the key from the config.
`models.NAME.passthrough_auth` (or `auth.passthrough` for every model, quick start included) is for
deployments where each client brings its own provider key. The config refuses it together with
proxy keys, and the admin key is never forwarded.
"""

from __future__ import annotations

from collections.abc import Mapping

from proxy.auth import Caller
from proxy.config import Config


class Passthrough:
    def __init__(self, config: Config) -> None:
        self._all = config.auth.passthrough
        self._models = frozenset(name for name, route in config.models.items() if route.passthrough_auth)

    @property
    def enabled(self) -> bool:
        return self._all or bool(self._models)

    def authorization(self, model: str, headers: Mapping[str, str], caller: Caller) -> str | None:
        """The `Authorization` value to send upstream for a request to `model` (the client's model
        name), or None to send the upstream's own key."""
        if not (self._all or model in self._models) or caller.is_admin:
            return None
        value = headers.get("authorization")
        if not value or value[:7].lower() != "bearer " or not value[7:].strip():
            return None
        return value
