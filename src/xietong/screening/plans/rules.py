"""The screening plan of a day, as pure logic over buildings: which test, how, and why.

By area status (the default policy): buildings in a high-risk area test every
`interval_days.high_risk_area` days (daily) by single tube; the central urban area every
`interval_days.central_urban_area` days (隔天一檢) in pools; other districts per their interval, or
not at all ("none"). A building due every N days is split by a stable hash of its code, so that
it is planned exactly once in any N consecutive days and about 1/N of the buildings test each day.
In wind-down mode (rules of 21 Nov 2022) only the affected districts test, on the rounds the
policy gives, and high-risk areas keep their daily single tubes. No database here.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import NamedTuple

from xietong.policy.rules import ScreeningRules

STATUS_REASONS = {
    "high_risk_area": "high-risk area",
    "central_urban_area": "central urban area",
    "other_districts": "district outside the central urban area",
    "wind_down": "affected district winding down screening",
}


class BuildingToPlan(NamedTuple):
    """A building as the plan sees it: where it is and how many people stay in it (a tuple:
    a district's thousands are made on every view of its plan)."""

    id: int
    code: str
    district_id: int
    central_urban: bool
    persons: int


class PlanEntry(NamedTuple):
    """A building due on the day, with the pool size its people are swabbed into."""

    building_id: int
    district_id: int
    status: str
    every_days: int
    pool_size: int
    persons: int

    @property
    def reason(self) -> str:
        how = "single tube" if self.pool_size == 1 else f"pools of {self.pool_size}"
        if self.status == "wind_down":
            return f"{STATUS_REASONS[self.status]}: round today, {how}"
        every = "daily" if self.every_days == 1 else f"every {self.every_days} days"
        return f"{STATUS_REASONS[self.status]}: {every}, {how}"


def split_group(code: str, every_days: int) -> int:
    """The day group (0..every_days-1) of a building: stable across runs and machines."""
    if every_days < 1:
        raise ValueError(f"every_days: must be at least 1 (got {every_days})")
    return zlib.crc32(code.encode("utf-8")) % every_days


def due_on(code: str, day: date, every_days: int) -> bool:
    """Whether a building tested every `every_days` days is due on `day`."""
    return day.toordinal() % every_days == split_group(code, every_days)


def plan_day(
    *,
    day: date,
    buildings: Iterable[BuildingToPlan],
    high_risk_building_ids: Collection[int],
    rules: ScreeningRules,
    prevalence: Mapping[int, float | None] | None = None,
    wind_down_first_rounds: Mapping[int, date] | None = None,
) -> list[PlanEntry]:
    """The buildings due on `day` under `rules`.

    `prevalence` is the share of positive persons in each district's recent screening (None or
    missing: unknown, the usual pool applies). `wind_down_first_rounds` gives, in wind-down mode,
    each affected district's first round (the day after its last community case); districts not
    in it do not test.
    """
    prevalence = prevalence or {}
    first_rounds = wind_down_first_rounds or {}
    intervals = rules.interval_days
    wind_down_days = {
        district: set(rules.wind_down.shortest_rounds(first))
        for district, first in first_rounds.items()
    }
    high_risk = set(high_risk_building_ids)
    # What is the same for every building of a status (and district): read once, not per
    # building (a district has thousands).
    every_of = {
        status: intervals.every_days(status)
        for status in ("high_risk_area", "central_urban_area", "other_districts")
    }
    every_of["wind_down"] = rules.wind_down.affected_district_every_days
    ordinal = day.toordinal()
    pools: dict[tuple[bool, int], int] = {}
    entries = []
    for building in buildings:
        status: str
        if building.id in high_risk:
            status = "high_risk_area"
        elif rules.mode == "wind_down":
            if day not in wind_down_days.get(building.district_id, ()):
                continue
            status = "wind_down"
        elif building.central_urban:
            status = "central_urban_area"
        else:
            status = "other_districts"
        every = every_of[status]
        if every is None:
            continue
        if status != "wind_down" and ordinal % every != split_group(building.code, every):
            continue
        key = (status == "high_risk_area", building.district_id)
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = rules.pool_size_for(
                in_high_risk_area=key[0], prevalence=prevalence.get(building.district_id)
            )
        entries.append(
            PlanEntry(
                building_id=building.id,
                district_id=building.district_id,
                status=status,
                every_days=every,
                pool_size=pool,
                persons=building.persons,
            )
        )
    return entries


def tubes_needed(entries: Iterable[PlanEntry]) -> dict[int, int]:
    """Tubes each district needs for its planned persons (pools fill across buildings)."""
    persons: dict[tuple[int, int], int] = defaultdict(int)
    for entry in entries:
        persons[entry.district_id, entry.pool_size] += entry.persons
    tubes: dict[int, int] = defaultdict(int)
    for (district, pool_size), count in persons.items():
        tubes[district] += math.ceil(count / pool_size)
    return dict(tubes)
