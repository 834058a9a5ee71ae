"""What-if: re-run the zones rules over a past period with another policy, side by side with what
happened — which buildings would have been locked and lifted when, and the person-days of
lockdown (residents of a locked building × locked days).

Assumptions, stated so the answer can be read right: every proposal is approved the day it is
made; a surface infection locks its building that day (if the policy proposes on surface cases);
areas designated or proposed by hand lock on the day they really did; buildings locked when the
period starts carry their designation day and clean days in. Residents are counted as registered
now. A locked day is a day from the designation up to the day before the lifting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.errors import DomainError
from xietong.policy import service as policy_service
from xietong.policy.rules import Policy
from xietong.zones import adapters, countdown, rules
from xietong.zones.adapters import ScreeningSource
from xietong.zones.models import BuildingInfection, RiskArea
from xietong.zones.schemas import BuildingComparison, LockEpisode, LockTotals, WhatIfReport
from xietong.zones.vocabulary import LOCKED_STATUSES

# A what-if is for a period of an outbreak, not for years of history.
MAX_PERIOD_DAYS = 366


def _locked_days(locked_on: date, lifted_on: date | None, first: date, last: date) -> int:
    end = min(lifted_on, last + timedelta(days=1)) if lifted_on else last + timedelta(days=1)
    return max((end - max(locked_on, first)).days, 0)


def _episode(locked_on: date, lifted_on: date | None, first: date, last: date) -> LockEpisode:
    shown = lifted_on if lifted_on is not None and lifted_on <= last else None
    return LockEpisode(
        locked_on=locked_on,
        lifted_on=shown,
        locked_days=_locked_days(locked_on, lifted_on, first, last),
    )


def _totals(
    episodes: dict[int, list[LockEpisode]], residents: dict[int, int], first: date, last: date
) -> LockTotals:
    every = [(b, e) for b, found in episodes.items() for e in found]
    return LockTotals(
        areas_locked=sum(1 for _, e in every if first <= e.locked_on <= last),
        areas_lifted=sum(1 for _, e in every if e.lifted_on is not None),
        building_days=sum(e.locked_days for _, e in every),
        person_days=sum(residents.get(b, 0) * e.locked_days for b, e in every),
    )


def _versions_in_force(session: Session, first: date, last: date) -> list[str]:
    history = policy_service.history(session)
    earliest = next(iter(history))[0]
    if last < earliest:
        return [policy_service.policy_in_force(session, day=last).version]
    periods = history.periods(first_day=max(first, earliest), last_day=last)
    return [period.policy.version for period in periods]


def _real_areas(
    session: Session, first: date, last: date, district_id: int | None
) -> list[RiskArea]:
    """Areas locked at some point from the day before the period to its end."""
    before = first - timedelta(days=1)
    query = select(RiskArea)
    if district_id is not None:
        query = query.where(RiskArea.district_id == district_id)
    return list(
        session.scalars(
            query.where(
                RiskArea.active_from.is_not(None),
                RiskArea.active_from <= last,
                or_(
                    RiskArea.status.in_(LOCKED_STATUSES),
                    and_(RiskArea.status == "lifted", RiskArea.lifted_on > before),
                ),
            ).order_by(RiskArea.building_id, RiskArea.active_from)
        )
    )


def what_if(
    session: Session,
    *,
    policy: Policy,
    first_day: date,
    last_day: date,
    district_id: int | None = None,
    screening: ScreeningSource | None = None,
) -> WhatIfReport:
    """Replay [first_day, last_day] under `policy` and compare with the areas that really were
    (of one district, or of the whole city)."""
    if last_day < first_day:
        raise DomainError("the period ends before it begins", code="period_invalid")
    if (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
        raise DomainError(
            f"a what-if covers at most {MAX_PERIOD_DAYS} days", code="period_too_long"
        )
    rule = rules.LiftingRule.from_policy(policy.risk_area)
    source, availability = countdown.resolve_screening(
        screening, required=rule.requires_negative_screening
    )
    real = _real_areas(session, first_day, last_day, district_id)
    surface_query = (
        select(BuildingInfection.building_id)
        .distinct()
        .where(
            BuildingInfection.on_surface.is_(True),
            BuildingInfection.day >= first_day,
            BuildingInfection.day <= last_day,
        )
    )
    if district_id is not None:
        surface_query = surface_query.where(BuildingInfection.district_id == district_id)
    surface_buildings = session.scalars(surface_query).all()
    buildings = sorted({a.building_id for a in real} | {int(b) for b in surface_buildings})
    actual_versions = _versions_in_force(session, first_day, last_day)

    row_of = {b: i for i, b in enumerate(buildings)}
    lookback = rule.clean_days
    data_first = first_day - timedelta(days=lookback)
    infected, surface = countdown.infection_matrices(
        session, building_ids=buildings, first_day=data_first, last_day=last_day
    )
    negative = (
        countdown.negative_matrix(
            session, building_ids=buildings, first_day=data_first, last_day=last_day, source=source
        )
        if rule.requires_negative_screening
        else None
    )
    count = len(buildings)
    days = (last_day - first_day).days + 1
    designated = np.zeros((count, days), dtype=np.bool_)
    at_start = np.zeros(count, dtype=np.bool_)
    since = np.zeros(count, dtype=np.int64)
    countable = np.zeros(count, dtype=np.int64)
    before = first_day - timedelta(days=1)
    actual: dict[int, list[LockEpisode]] = {}
    for area in real:
        assert area.active_from is not None
        row = row_of[area.building_id]
        actual.setdefault(area.building_id, []).append(
            _episode(area.active_from, area.lifted_on, first_day, last_day)
        )
        locked_before = area.active_from <= before and (
            area.lifted_on is None or area.lifted_on > before
        )
        if locked_before:
            at_start[row] = True
            since[row] = (area.active_from - first_day).days
            countable[row] = ((area.countdown_from or area.active_from) - first_day).days
        elif area.origin != "surface_case" and area.active_from >= first_day:
            designated[row, (area.active_from - first_day).days] = True

    # Clean days already counted when the period starts, under the alternative rule.
    streak = np.zeros(count, dtype=np.int64)
    if count:
        carried = rules.lifting_countdown(
            infected=infected[:, :lookback],
            negative=negative[:, :lookback] if negative is not None else None,
            countable_from=countable + lookback,
            rule=rule,
        )
        streak = np.where(at_start, carried.clean_streak, 0)
    replayed = rules.replay(
        infected=infected[:, lookback:],
        surface=surface[:, lookback:],
        negative=negative[:, lookback:] if negative is not None else None,
        designated=designated,
        locked_at_start=at_start,
        locked_since=since,
        countable_from=countable,
        streak_at_start=streak,
        rule=rule,
    )
    alternative: dict[int, list[LockEpisode]] = {}
    for row, locked_on, lifted_on in zip(
        replayed.building, replayed.locked_on, replayed.lifted_on, strict=True
    ):
        start = first_day + timedelta(days=int(locked_on))
        end = first_day + timedelta(days=int(lifted_on)) if lifted_on >= 0 else None
        alternative.setdefault(buildings[int(row)], []).append(
            _episode(start, end, first_day, last_day)
        )
    residents = adapters.residents_per_building(session, buildings)
    return WhatIfReport(
        first_day=first_day,
        last_day=last_day,
        policy_version=policy.version,
        actual_policy_versions=actual_versions,
        screening=availability,
        actual=_totals(actual, residents, first_day, last_day),
        what_if=_totals(alternative, residents, first_day, last_day),
        buildings=_comparisons(session, buildings, actual, alternative, residents),
    )


def _comparisons(
    session: Session,
    buildings: Sequence[int],
    actual: dict[int, list[LockEpisode]],
    alternative: dict[int, list[LockEpisode]],
    residents: dict[int, int],
) -> list[BuildingComparison]:
    places = areas_service.buildings_by_id(session, ids=buildings)
    codes = areas_service.district_code_by_id(session)
    found = [
        BuildingComparison(
            building_code=places[b].code,
            address_label=places[b].address_label,
            district_code=codes[places[b].district_id],
            residents=residents.get(b, 0),
            actual=actual.get(b, []),
            what_if=alternative.get(b, []),
        )
        for b in buildings
        if actual.get(b) or alternative.get(b)
    ]
    return sorted(found, key=lambda c: (c.district_code, c.building_code))
