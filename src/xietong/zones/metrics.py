"""Daily facts of the zones domain for the analytics aggregates: `active_high_risk_areas` per
district and local day, recounted from the risk areas themselves so a recount always equals the
aggregate. An area counts on the days from its designation up to the day before its lifting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.zones.models import RiskArea, RiskAreaEvent
from xietong.zones.service import locked_on
from xietong.zones.vocabulary import AWAITING_STATUSES, LOCKED_STATUSES, OPEN_STATUSES

METRICS = ("active_high_risk_areas",)
_NEVER = date.max.toordinal()


def changed_cells(session: Session, *, since: datetime) -> set[tuple[int, date]]:
    """(district, day) cells whose count may have changed since `since`.

    A step on an area changes every day of its locked span: from its designation to the day
    before its lifting, or to the day of its last step while it is still locked (the days after
    that are cells new to the aggregates, which the refresh recounts for every domain).
    """
    # Every change of an area writes its step at the instant it stamps as `updated_at`, so the
    # steps since then (indexed by time) name every area changed since: `updated_at` itself is
    # not indexed, which lets a step rewrite the area's row in place.
    changed = select(RiskAreaEvent.area_id).where(RiskAreaEvent.at >= since)
    rows = session.execute(
        select(
            RiskArea.district_id, RiskArea.active_from, RiskArea.lifted_on, RiskArea.updated_at
        ).where(RiskArea.active_from.is_not(None), RiskArea.id.in_(changed))
    )
    cells: set[tuple[int, date]] = set()
    for district_id, active_from, lifted_on, updated_at in rows:
        if active_from is None:
            continue
        last_step = local_day(updated_at, DEFAULT_TZ)
        end = (
            lifted_on - timedelta(days=1) if lifted_on is not None else max(last_step, active_from)
        )
        day = active_from
        while day <= end:
            cells.add((district_id, day))
            day += timedelta(days=1)
    return cells


def daily_metrics(
    session: Session, *, cells: Collection[tuple[int, date]], tz: str
) -> dict[tuple[int, date], dict[str, int]]:
    """The zones metrics of each requested cell (0 where no area was locked)."""
    del tz  # designation and lifting days are already local days
    if not cells:
        return {}
    districts = {district for district, _ in cells}
    first = min(day for _, day in cells)
    last = max(day for _, day in cells)
    rows = session.execute(
        select(RiskArea.district_id, RiskArea.active_from, RiskArea.lifted_on).where(
            RiskArea.district_id.in_(districts),
            RiskArea.active_from.is_not(None),
            RiskArea.active_from <= last,
            or_(
                RiskArea.status.in_(LOCKED_STATUSES),
                and_(RiskArea.status == "lifted", RiskArea.lifted_on > first),
            ),
        )
    )
    starts: dict[int, list[int]] = defaultdict(list)
    ends: dict[int, list[int]] = defaultdict(list)
    for district_id, active_from, lifted_on in rows:
        if active_from is None:
            continue
        starts[district_id].append(active_from.toordinal())
        ends[district_id].append(lifted_on.toordinal() if lifted_on is not None else _NEVER)
    wanted: dict[int, list[date]] = defaultdict(list)
    for district_id, day in cells:
        wanted[district_id].append(day)
    found: dict[tuple[int, date], dict[str, int]] = {}
    for district_id, asked in wanted.items():
        began = np.sort(np.asarray(starts.get(district_id, []), dtype=np.int64))
        ended = np.sort(np.asarray(ends.get(district_id, []), dtype=np.int64))
        days = np.asarray([day.toordinal() for day in asked], dtype=np.int64)
        # Locked on a day: designated on or before it, minus those lifted on or before it.
        locked = np.searchsorted(began, days, side="right") - np.searchsorted(
            ended, days, side="right"
        )
        for day, count in zip(asked, locked, strict=True):
            found[(district_id, day)] = {"active_high_risk_areas": int(count)}
    return found


# Steps that lock an area: designated at once, or approved after a proposal.
LOCKING_STEPS = ("designated", "approved")


def steps_between(
    session: Session, *, district_id: int | None, since: datetime, until: datetime
) -> dict[str, int]:
    """How many areas were locked and lifted in [since, until) (None: the whole city), as
    {"locked": n, "lifted": n}: what a shift's handover reports."""
    query = select(RiskAreaEvent.step, func.count()).where(
        RiskAreaEvent.at >= since,
        RiskAreaEvent.at < until,
        RiskAreaEvent.step.in_((*LOCKING_STEPS, "lifted")),
    )
    if district_id is not None:
        query = query.where(RiskAreaEvent.district_id == district_id)
    counts: dict[str, int] = {
        step: n for step, n in session.execute(query.group_by(RiskAreaEvent.step))
    }
    return {
        "locked": sum(counts.get(step, 0) for step in LOCKING_STEPS),
        "lifted": counts.get("lifted", 0),
    }


@dataclass(frozen=True)
class DistrictAreas:
    """A district's risk areas on the wall: locked on the day shown, awaiting a decision now."""

    locked: int
    awaiting: int


def wall_areas(session: Session, *, day: date | None) -> dict[int, DistrictAreas]:
    """How many areas were locked on `day` (none counted without a day) and how many await a
    decision now (an approval or a lifting), by district: the overview's map layer and its
    strip's tile in one read. No index reads the status (see the model), so each such read
    passes over the areas: a view makes one."""
    locked = locked_on(day) if day is not None else false()
    awaiting = RiskArea.status.in_(AWAITING_STATUSES)
    rows = session.execute(
        select(
            RiskArea.district_id,
            func.sum(case((locked, 1), else_=0)),
            func.sum(case((awaiting, 1), else_=0)),
        )
        .where(or_(locked, awaiting))
        .group_by(RiskArea.district_id)
    )
    return {district_id: DistrictAreas(int(n), int(m)) for district_id, n, m in rows}


def open_by_district(session: Session) -> dict[tuple[int, str, str], int]:
    """How many areas are open now by (district, level, status): the risk-area page's map
    layers (locked by level, awaiting approval, lifting proposed), in one grouped count."""
    rows = session.execute(
        select(RiskArea.district_id, RiskArea.level, RiskArea.status, func.count())
        .where(RiskArea.status.in_(OPEN_STATUSES))
        .group_by(RiskArea.district_id, RiskArea.level, RiskArea.status)
    )
    return {(district_id, level, status): n for district_id, level, status, n in rows}
