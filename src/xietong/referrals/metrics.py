"""Daily referral metrics per receiving district and local day, recounted from the raw rows:
`referrals_opened` (hand-offs pushed to the district: a re-routed or reassigned referral is
opened anew in each district it reaches), `referrals_closed`, `referrals_overdue` (found overdue
by the escalation job). All three come from append-only rows, so a past cell only changes when a
row is added, and `changed_cells` finds it by its time."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.core.clock import day_bounds_utc, local_day
from xietong.referrals.models import Handoff, ReferralEvent

METRICS = ("referrals_opened", "referrals_closed", "referrals_overdue")


def changed_cells(
    session: Session, *, since: datetime, tz: str | None = None
) -> set[tuple[int, date]]:
    """Cells touched by rows added at or after `since`. Without `tz` the days around each
    instant are all returned (a recount of a cell that did not change is harmless)."""

    def days(at: datetime) -> list[date]:
        if tz is not None:
            return [local_day(at, tz)]
        utc_day = at.date()
        return [utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1)]

    cells: set[tuple[int, date]] = set()
    for district, at in session.execute(
        select(Handoff.to_district_id, Handoff.pushed_at).where(Handoff.pushed_at >= since)
    ):
        cells.update((district, day) for day in days(at))
    for district, at in session.execute(
        select(ReferralEvent.district_id, ReferralEvent.at).where(
            ReferralEvent.at >= since, ReferralEvent.action.in_(["closed", "overdue"])
        )
    ):
        cells.update((district, day) for day in days(at))
    return cells


def daily_metrics(
    session: Session, *, cells: Collection[tuple[int, date]], tz: str
) -> dict[tuple[int, date], dict[str, int]]:
    """The three counts of each requested cell (zeros included)."""
    result = {cell: dict.fromkeys(METRICS, 0) for cell in cells}
    if not cells:
        return result
    districts = {district for district, _ in cells}
    first = min(day for _, day in cells)
    last = max(day for _, day in cells)
    start, _ = day_bounds_utc(first, tz)
    _, end = day_bounds_utc(last, tz)
    for district, at in session.execute(
        select(Handoff.to_district_id, Handoff.pushed_at).where(
            Handoff.to_district_id.in_(districts),
            Handoff.pushed_at >= start,
            Handoff.pushed_at < end,
        )
    ):
        cell = (district, local_day(at, tz))
        if cell in result:
            result[cell]["referrals_opened"] += 1
    for district, at, action in session.execute(
        select(ReferralEvent.district_id, ReferralEvent.at, ReferralEvent.action).where(
            ReferralEvent.district_id.in_(districts),
            ReferralEvent.action.in_(["closed", "overdue"]),
            ReferralEvent.at >= start,
            ReferralEvent.at < end,
        )
    ):
        cell = (district, local_day(at, tz))
        if cell in result:
            result[cell][f"referrals_{action}"] += 1
    return result
