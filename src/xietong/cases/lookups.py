"""Read-only look-ups of the shared building and facility tables that their own services do not
offer yet (buildings by id, quarantine facilities of a district). Nothing here writes; keeping
these reads in one module keeps them easy to swap for service calls when those appear.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas.models import Building
from xietong.cases.quarantine.rules import FacilityBeds
from xietong.resources.models import Facility

# The facility kind that takes close contacts for centralised quarantine.
CENTRALISED_QUARANTINE = "centralised_quarantine"


@dataclass(frozen=True)
class BuildingRef:
    id: int
    code: str
    district_id: int
    kind: str


def buildings_by_id(session: Session, ids: Collection[int | None]) -> dict[int, BuildingRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Building.id, Building.code, Building.district_id, Building.kind).where(
            Building.id.in_(wanted)
        )
    )
    return {row.id: BuildingRef(row.id, row.code, row.district_id, row.kind) for row in rows}


def quarantine_facilities(
    session: Session, *, district_id: int, lock: bool = False
) -> list[FacilityBeds]:
    """The district's active centralised-quarantine facilities.

    With `lock`, their rows are locked until the transaction ends (PostgreSQL), so that two
    transactions placing contacts at once cannot both take the last bed.
    """
    query = select(Facility).where(
        Facility.district_id == district_id,
        Facility.kind == CENTRALISED_QUARANTINE,
        Facility.active.is_(True),
    )
    if lock:
        query = query.with_for_update()
    return [
        FacilityBeds(f.id, f.code, f.beds, f.available_from, f.available_to)
        for f in session.scalars(query.order_by(Facility.code))
    ]


@dataclass(frozen=True)
class FacilityRef:
    id: int
    code: str
    district_id: int
    kind: str
    beds: int


def facilities_by_id(session: Session, ids: Collection[int | None]) -> dict[int, FacilityRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        f.id: FacilityRef(f.id, f.code, f.district_id, f.kind, f.beds)
        for f in session.scalars(select(Facility).where(Facility.id.in_(wanted)))
    }


def facilities_of(session: Session, *, district_id: int | None) -> dict[int, FacilityRef]:
    query = select(Facility).where(Facility.active.is_(True))
    if district_id is not None:
        query = query.where(Facility.district_id == district_id)
    return {
        f.id: FacilityRef(f.id, f.code, f.district_id, f.kind, f.beds)
        for f in session.scalars(query)
    }
