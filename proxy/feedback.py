"""User feedback on answers, posted after the fact: which request (and so which identities) it was about.

The proxy remembers, for a bounded number of recent responses and a bounded time, the metric labels
each request counted under; a later `POST /v1/evenhand/feedback` with the response id counts a
correct or incorrect answer under those same labels. Memory is bounded whatever the traffic.
"""

from __future__ import annotations

import time
from collections import OrderedDict

Labels = tuple[tuple[str, ...], ...]


class FeedbackStore:
    def __init__(self, capacity: int = 10_000, ttl_seconds: float = 3600.0) -> None:
        self.capacity = capacity
        self.ttl = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, Labels]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, response_id: str, labels: Labels, now: float | None = None) -> None:
        if not response_id or self.capacity <= 0:
            return
        entries = self._entries
        entries[response_id] = (time.monotonic() if now is None else now, labels)
        if len(entries) > self.capacity:
            entries.popitem(last=False)

    def take(self, response_id: str, now: float | None = None) -> Labels | None:
        """The labels for a response, once: None if unknown, evicted, expired or already taken."""
        entry = self._entries.pop(response_id, None)
        if entry is None:
            return None
        stored_at, labels = entry
        if (time.monotonic() if now is None else now) - stored_at > self.ttl:
            return None
        return labels
