"""The clocks that read the wall: the system's, and one that runs from a chosen instant at the
wall's pace (a server replaying the past). Only the delivery layers build one (the application
factory, the CLI, the job runtime); domain modules never import this module (import-linter).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class RunningClock:
    """Reads `start` when built and runs on at the wall's pace.

    The demo serves its outbreak as of the evening of its last day: every reader of time in that
    server (routes, pages, the outbox, escalation, the analytics refresh) reads this one object,
    so SLA countdowns, escalations and "today" are those of the replay.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start: must be timezone-aware")
        self._shift: timedelta = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift
