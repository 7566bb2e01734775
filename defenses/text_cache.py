"""A bounded memory of what the detector found in texts it has already read.

Real traffic repeats itself: every request of a conversation resends the system prompt and all
earlier turns, and an application sends the same system prompt with every request. What the
detector finds in a text depends only on the text and on who sent it, so the result of reading it
once can be reused; only the newest turn of a conversation is read afresh.

Bounded by entries and by the total length of the texts held, least recently used first out; texts
longer than `max_text` are never held. Texts live only in this process's memory, as the request
that carried them does; nothing is written anywhere.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class TextCache(Generic[V]):
    """LRU map of (text, source) -> value, bounded by entries and total characters; thread-safe."""

    __slots__ = ("max_entries", "max_chars", "max_text", "_items", "_chars", "_lock")

    def __init__(self, max_entries: int = 4096, max_chars: int = 8_000_000, max_text: int = 65_536) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.max_text = max_text
        self._items: OrderedDict[tuple[str, str], V] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, text: str, source: str) -> V | None:
        key = (text, source)
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, text: str, source: str, value: V) -> None:
        size = len(text)
        if size > self.max_text or self.max_entries <= 0:
            return
        key = (text, source)
        with self._lock:
            if key in self._items:
                self._items[key] = value
                self._items.move_to_end(key)
                return
            self._items[key] = value
            self._chars += size
            while self._items and (len(self._items) > self.max_entries or self._chars > self.max_chars):
                (old_text, _), _ = self._items.popitem(last=False)
                self._chars -= len(old_text)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._chars = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def chars(self) -> int:
        return self._chars
