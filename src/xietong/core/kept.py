"""A few results kept under a key while they are read, the least recently read dropped first:
the pages' memory of analytics results and the forecast's readers each keep their own, with
one way of keeping them (thread-safe; a result that raised is not kept).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    """At most `size` results, each under its key."""

    def __init__(self, *, size: int) -> None:
        if size < 1:
            raise ValueError(f"size: must be at least 1, got {size}")
        self._size = size
        self._lock = threading.Lock()
        self._store: OrderedDict[Hashable, V] = OrderedDict()

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The result kept under `key`, or `make()`'s, kept from now on.

        Two threads asking for a key not kept both make it (the last one made is kept): a
        result is a pure function of its key, so either is the same answer.
        """
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key]
        made = make()
        with self._lock:
            self._store[key] = made
            self._store.move_to_end(key)
            while len(self._store) > self._size:
                self._store.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
