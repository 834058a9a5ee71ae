"""Time: timezone-aware UTC inside; the configured zone only for day boundaries and display.

A process has one `Clock`, built at start (`core.wallclock`) and passed down: the application
keeps it in its state, the CLI in its context, the jobs receive it. Domain services never read a
clock: they take `now`. This module holds the protocol, the hand-moved clock of tests and the
calendar arithmetic; the clocks that read the wall live in `core.wallclock`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# Clocks of sampling devices, laboratory systems and field workers' phones drift: a time this far
# ahead of the server's is accepted, further is refused as lying in the future.
CLOCK_SKEW = timedelta(minutes=15)
# The deployment's zone unless configured (`Settings.timezone`): the reference city's.
DEFAULT_TZ = "Asia/Shanghai"


class Clock(Protocol):
    """The one source of the current instant in a process (timezone-aware UTC)."""

    def now(self) -> datetime: ...


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


def local_day(at: datetime, tz: str) -> date:
    """The calendar day of `at` in the configured zone (bulletins and plans count by it)."""
    return at.astimezone(ZoneInfo(tz)).date()


def day_bounds_utc(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants at which `day` starts and ends in the configured zone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
