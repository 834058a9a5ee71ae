"""Time: timezone-aware UTC inside; the configured zone only for day boundaries and display."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# Clocks of sampling devices, laboratory systems and field workers' phones drift: a time this far
# ahead of the server's is accepted, further is refused as lying in the future.
CLOCK_SKEW = timedelta(minutes=15)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests and the twin move by hand."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("at: must be timezone-aware")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("at: must be timezone-aware")
        self._at = at.astimezone(UTC)


# How far this process's clock is set from the wall clock: zero but in a server replaying the
# past (the demo serves its outbreak as of the evening of its last day, and time runs on from there
# so that SLA countdowns, escalations and "today" are those of the replay).
_shift = timedelta(0)


def run_clock_from(start: datetime) -> None:
    """Set this process's clock (`utcnow`) to read `start` now and run on at the wall's pace."""
    global _shift
    if start.tzinfo is None:
        raise ValueError("start: must be timezone-aware")
    _shift = start.astimezone(UTC) - datetime.now(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC) + _shift


def local_day(at: datetime, tz: str) -> date:
    """The calendar day of `at` in the configured zone (bulletins and plans count by it)."""
    return at.astimezone(ZoneInfo(tz)).date()


def day_bounds_utc(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants at which `day` starts and ends in the configured zone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
