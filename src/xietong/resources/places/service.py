"""Quarantine places as other domains see them: the cases domain places close contacts in the
beds of a district's active centralised-quarantine facilities and shows where each order is."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.resources.models import Facility

# The facility kind that takes close contacts for centralised quarantine.
CENTRALISED_QUARANTINE = "centralised_quarantine"


@dataclass(frozen=True)
class FacilityPlace:
    """A quarantine place: its code, district, kind, beds and the days it takes persons."""

    id: int
    code: str
    district_id: int
    kind: str
    beds: int
    available_from: date | None
    available_to: date | None


def _place(f: Facility) -> FacilityPlace:
    return FacilityPlace(
        f.id, f.code, f.district_id, f.kind, f.beds, f.available_from, f.available_to
    )


def facilities_by_id(session: Session, *, ids: Collection[int | None]) -> dict[int, FacilityPlace]:
    """The facilities of `ids` that exist, active or not."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        f.id: _place(f) for f in session.scalars(select(Facility).where(Facility.id.in_(wanted)))
    }


def active_facilities(
    session: Session, *, district_id: int | None, kind: str | None = None, lock: bool = False
) -> list[FacilityPlace]:
    """The active facilities of a district (None: every district), of one kind if given.

    With `lock`, their rows are locked until the transaction ends (PostgreSQL), so that two
    transactions placing contacts at once cannot both take the last bed.
    """
    query = select(Facility).where(Facility.active.is_(True))
    if district_id is not None:
        query = query.where(Facility.district_id == district_id)
    if kind is not None:
        query = query.where(Facility.kind == kind)
    if lock:
        query = query.with_for_update()
    return [_place(f) for f in session.scalars(query.order_by(Facility.code))]
