"""A few results kept under a key while they are read, the least recently read dropped first:
the pages' memory of analytics results and the forecast's readers each keep their own, with
one way of keeping them (cachetools' LRU cache behind a lock; a result that raised is not kept).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class Kept(Generic[V]):
    """At most `size` results, each under its key."""

    def __init__(self, *, size: int) -> None:
        if size < 1:
            raise ValueError(f"size: must be at least 1, got {size}")
        self._lock = threading.Lock()
        self._store: LRUCache[Hashable, V] = LRUCache(maxsize=size)

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The result kept under `key`, or `make()`'s, kept from now on.

        `make` runs outside the lock (it may read the database for seconds): two threads asking
        for a key not kept both make it and the last one made is kept, which is the same answer,
        a result being a pure function of its key.
        """
        with self._lock:
            try:
                return self._store[key]  # a read makes it the most recently read
            except KeyError:
                pass
        made = make()
        with self._lock:
            self._store[key] = made
        return made

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
