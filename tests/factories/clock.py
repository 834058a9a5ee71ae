"""The time of the factories: the deployment's zone, and local hours of a day as UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from xietong.core.clock import DEFAULT_TZ

TZ = DEFAULT_TZ


def at(day: date, hour: int = 12) -> datetime:
    """`hour` o'clock local time on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
