"""Proposing clusters (點): cases at the same place within the policy's window belong together.

Pure: visits in, groups out. A group at a building is a run of visits in which no two consecutive
days lie more than `window_days` apart (the cluster's quiet period: a case after that many days
without one starts a new cluster); only runs of at least two distinct cases are proposed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class PlaceVisit:
    case_id: int
    building_id: int
    day: date
    role: str = "visited"


@dataclass(frozen=True)
class ProposedGroup:
    building_id: int
    visits: tuple[PlaceVisit, ...]

    @property
    def case_ids(self) -> tuple[int, ...]:
        return tuple(sorted({v.case_id for v in self.visits}))

    @property
    def first_day(self) -> date:
        return min(v.day for v in self.visits)

    @property
    def last_day(self) -> date:
        return max(v.day for v in self.visits)


def group_by_place(visits: Iterable[PlaceVisit], *, window_days: int) -> list[ProposedGroup]:
    """Groups of at least two cases sharing a building within `window_days` of one another."""
    if window_days < 1:
        raise ValueError(f"window_days: must be at least 1 (got {window_days})")
    by_building: dict[int, list[PlaceVisit]] = defaultdict(list)
    for visit in visits:
        by_building[visit.building_id].append(visit)
    groups: list[ProposedGroup] = []
    for building_id in sorted(by_building):
        ordered = sorted(by_building[building_id], key=lambda v: (v.day, v.case_id))
        run: list[PlaceVisit] = [ordered[0]]
        for visit in ordered[1:]:
            if (visit.day - run[-1].day).days > window_days:
                groups.extend(_proposal(building_id, run))
                run = []
            run.append(visit)
        groups.extend(_proposal(building_id, run))
    return groups


def _proposal(building_id: int, run: list[PlaceVisit]) -> list[ProposedGroup]:
    # One visit per case: its earliest at the place.
    first: dict[int, PlaceVisit] = {}
    for visit in run:
        first.setdefault(visit.case_id, visit)
    if len(first) < 2:
        return []
    return [ProposedGroup(building_id, tuple(first.values()))]


def closes_on(last_case_day: date, *, inactive_after_days: int) -> date:
    """The last of the quiet days: a cluster with no new case until then is closed after it."""
    return last_case_day + timedelta(days=inactive_after_days)


def is_active(last_case_day: date, *, on: date, inactive_after_days: int) -> bool:
    """Whether a cluster whose last case was on `last_case_day` is still watched on `on`."""
    return on <= closes_on(last_case_day, inactive_after_days=inactive_after_days)
