"""Local days of stored instants counted in SQL, the same on SQLite and PostgreSQL: each day's
start in the deployment's zone is found here (daylight saving included) and the column is
compared with the starts, so neither database needs the zone's rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, literal

from xietong.core.clock import day_bounds_utc


def day_starts(first_day: date, last_day: date, tz: str) -> list[datetime]:
    """The UTC instant each day of [first_day, last_day] starts at, and the end of the last."""
    days = [first_day + timedelta(days=k) for k in range((last_day - first_day).days + 1)]
    return [day_bounds_utc(day, tz)[0] for day in days] + [day_bounds_utc(last_day, tz)[1]]


def day_number(column: ColumnElement[Any], starts: Sequence[datetime]) -> ColumnElement[int]:
    """The local day of `column` as its number among `starts` (0: the first day). An instant
    before the first day counts as the first and one after the last as the last: the caller
    keeps the instants within [starts[0], starts[-1]) where that matters.

    A tree of comparisons (a CASE within a CASE, halving the days each time): 6 comparisons
    find one of 64 days, where a flat CASE makes 32 on average.
    """

    def between(first: int, last: int) -> ColumnElement[int]:
        if first == last:
            return literal(first, Integer)
        middle = (first + last + 1) // 2
        return case(
            (column < starts[middle], between(first, middle - 1)), else_=between(middle, last)
        )

    return between(0, len(starts) - 2)
