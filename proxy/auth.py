"""Who is calling: proxy keys and the admin key, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from proxy.errors import ProxyError


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller. `key_id` is a short hash of the key (never the key itself), so it can
    scope policies and pick A/B arms without the secret travelling further than this module."""

    key_id: str
    tenant: str | None = None
    is_admin: bool = False


ANONYMOUS = Caller(key_id="anonymous")


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class KeyChecker:
    """Checks `Authorization: Bearer <key>` against configured proxy keys and the admin key."""

    def __init__(self, keys: dict[str, str | None], admin_key: str | None) -> None:
        # key -> tenant; digests compared with hmac.compare_digest so timing reveals nothing
        self._keys = [(hashlib.sha256(k.encode()).digest(), Caller(key_id(k), tenant)) for k, tenant in keys.items()]
        self._admin = (hashlib.sha256(admin_key.encode()).digest(), Caller(key_id(admin_key), "admin", True)) if admin_key else None

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def _match(self, authorization: str | None) -> Caller | None:
        if not authorization or not authorization[:7].lower() == "bearer ":
            return None
        digest = hashlib.sha256(authorization[7:].strip().encode()).digest()
        found = None
        candidates = self._keys + ([self._admin] if self._admin else [])
        for known, caller in candidates:
            if hmac.compare_digest(known, digest):
                found = caller
        return found

    def caller(self, authorization: str | None) -> Caller:
        """The caller for a request, or a 401 when keys are configured and this one is not among them."""
        found = self._match(authorization)
        if found is not None:
            return found
        if self.required:
            raise ProxyError(401, "Incorrect or missing API key. Send 'Authorization: Bearer <key>' with a key this proxy knows.", code="invalid_api_key")
        return ANONYMOUS

    def admin(self, authorization: str | None) -> Caller:
        """The caller if it holds the admin key, else 401/403."""
        if self._admin is None:
            raise ProxyError(403, "No admin key is configured on this proxy.", code="admin_disabled")
        found = self._match(authorization)
        if found is None:
            raise ProxyError(401, "Incorrect or missing admin key.", code="invalid_api_key")
        if not found.is_admin:
            raise ProxyError(403, "This endpoint needs the admin key.", code="admin_required")
        return found
