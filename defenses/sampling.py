"""Deterministic sampling: the same key always lands in the same place, so A/B arms and probe samples
are stable across requests, restarts and replicas, and tests can predict them."""

from __future__ import annotations

from hashlib import blake2b


def fraction(salt: str, key: str) -> float:
    """A number in [0, 1) fixed by (salt, key) and spread evenly over keys; compare it with a share."""
    digest = blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


def sampled(salt: str, key: str, share: float) -> bool:
    """Whether `key` falls in the first `share` of the keys for this salt (share 0: never, 1: always)."""
    if share >= 1.0:
        return True
    if share <= 0.0:
        return False
    return fraction(salt, key) < share
