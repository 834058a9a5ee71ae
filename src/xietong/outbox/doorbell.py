"""A process-wide signal that new outbox messages were committed: the dispatcher's threads wait on
it instead of polling the database in a tight loop."""

from __future__ import annotations

import threading


class Doorbell:
    """Rings wake every waiter; a waiter that missed a ring sees the changed generation."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._condition:
            return self._generation

    def ring(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until a ring after generation `seen` or `timeout` seconds; return the generation."""
        with self._condition:
            self._condition.wait_for(lambda: self._generation != seen, timeout=timeout)
            return self._generation


DOORBELL = Doorbell()
