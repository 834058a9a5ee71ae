"""New infections by building, in sets: whether buildings were locked at given instants, and
the infections that restart a lifting countdown or propose a building (快封).

These are the set-based forms of the zones contract that case registration calls: a batch of
cases asks in one statement per table, whatever its size; one case is a batch of one. Only the
areas an infection changes (a proposal, a withdrawn lifting) are written one by one, with their
step and notice, as the life cycle writes every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xietong.core.clock import local_day
from xietong.core.principal import SYSTEM
from xietong.policy import service as policy_service
from xietong.storage.bulk_sql import chunks, dialect_of, insert_with_ids, member_of
from xietong.zones.models import BuildingInfection, RiskArea
from xietong.zones.service import _new_area, _step
from xietong.zones.vocabulary import LOCKED_STATUSES, OPEN_STATUSES


def locked_at(
    session: Session, *, checks: Sequence[tuple[int | None, datetime]], tz: str
) -> list[bool]:
    """For each (building, instant): whether the building was inside an active high-risk area
    at that instant (designated on or before its local day, not lifted by then)."""
    buildings = sorted({b for b, _ in checks if b is not None})
    areas: dict[int, list[tuple[object, str, datetime | None]]] = {}
    dialect = dialect_of(session)
    for part in chunks(buildings):
        for building_id, active_from, status, lifted_at in session.execute(
            select(RiskArea.building_id, RiskArea.active_from, RiskArea.status, RiskArea.lifted_at)
            .where(member_of(RiskArea.building_id, part, dialect=dialect))
            .where(
                RiskArea.active_from.is_not(None),
                or_(RiskArea.status.in_(LOCKED_STATUSES), RiskArea.status == "lifted"),
            )
        ):
            areas.setdefault(building_id, []).append((active_from, status, lifted_at))
    answers = []
    for building, at in checks:
        day = local_day(at, tz)
        answers.append(
            building is not None
            and any(
                active_from <= day  # type: ignore[operator]
                and (
                    status in LOCKED_STATUSES
                    or (status == "lifted" and lifted_at is not None and lifted_at > at)
                )
                for active_from, status, lifted_at in areas.get(building, ())
            )
        )
    return answers


@dataclass(frozen=True, kw_only=True)
class NewInfection:
    building_id: int
    district_id: int
    person_id: int
    detected_at: datetime
    on_surface: bool
    case_id: int | None = None


def record_infections(
    session: Session, *, infections: Sequence[NewInfection], tz: str, now: datetime
) -> list[BuildingInfection]:
    """Note new infections in buildings, in the given order (idempotent per person and
    building); the infection of record for each, in the same order.

    A surface infection in a building without an open area proposes it (when the policy of the
    day says so); an infection in a building awaiting its lifting withdraws the lifting, since
    the clean days start again. Within the batch the first infection of a building acts, and
    the later ones find the area it left, as they would one at a time.
    """
    if not infections:
        return []
    dialect = dialect_of(session)
    keys = {(i.person_id, i.building_id) for i in infections}
    known: dict[tuple[int, int], BuildingInfection] = {}
    for part in chunks(sorted({p for p, _ in keys})):
        for row in session.scalars(
            select(BuildingInfection).where(
                member_of(BuildingInfection.person_id, part, dialect=dialect)
            )
        ):
            if (row.person_id, row.building_id) in keys:
                known[(row.person_id, row.building_id)] = row
    values: dict[tuple[int, int], tuple[object, ...]] = {}
    for item in infections:
        key = (item.person_id, item.building_id)
        if key not in known and key not in values:
            values[key] = (
                item.building_id,
                item.district_id,
                item.person_id,
                item.case_id,
                item.detected_at,
                local_day(item.detected_at, tz),
                item.on_surface,
                now,
            )
    columns = [
        "building_id",
        "district_id",
        "person_id",
        "case_id",
        "detected_at",
        "day",
        "on_surface",
        "created_at",
    ]
    ids = insert_with_ids(session, BuildingInfection, columns, list(values.values()))
    loaded: dict[int, BuildingInfection] = {}
    for part in chunks(ids):
        loaded.update(
            (row.id, row)
            for row in session.scalars(
                select(BuildingInfection).where(
                    member_of(BuildingInfection.id, part, dialect=dialect)
                )
            )
        )
    new = [loaded[i] for i in ids]
    known.update(zip(values, new, strict=True))
    _act_on_areas(session, new, tz=tz, now=now)
    return [known[(i.person_id, i.building_id)] for i in infections]


def _act_on_areas(
    session: Session, new: Sequence[BuildingInfection], *, tz: str, now: datetime
) -> None:
    dialect = dialect_of(session)
    open_areas: dict[int, RiskArea] = {}
    for part in chunks(sorted({i.building_id for i in new})):
        for row in session.scalars(
            select(RiskArea).where(
                and_(
                    member_of(RiskArea.building_id, part, dialect=dialect),
                    RiskArea.status.in_(OPEN_STATUSES),
                )
            )
        ):
            open_areas[row.building_id] = row
    for infection in new:
        at = max(now, infection.detected_at)
        area = open_areas.get(infection.building_id)
        if area is not None:
            if area.status == "lifting_proposed":
                area.status = "active"
                area.lifting_proposed_at = None
                area.lifting_proposed_by = None
                _step(
                    session,
                    area,
                    step="lifting_withdrawn",
                    principal=SYSTEM,
                    at=at,
                    tz=tz,
                    reason=f"new infection found on {infection.day.isoformat()}",
                    detail={"case_id": infection.case_id},
                )
            continue
        if not infection.on_surface:
            continue
        rules = policy_service.policy_in_force(session, day=infection.day).risk_area
        if not rules.propose_on_surface_case:
            continue
        proposed = _new_area(
            session,
            building_id=infection.building_id,
            district_id=infection.district_id,
            principal=SYSTEM,
            origin="surface_case",
            reason=f"surface infection found on {infection.day.isoformat()}",
            at=at,
            tz=tz,
            case_id=infection.case_id,
        )
        if proposed is None:
            continue  # a user's proposal for the same building won the race: one open area
        open_areas[infection.building_id] = proposed
        _step(
            session,
            proposed,
            step="proposed",
            principal=SYSTEM,
            at=at,
            tz=tz,
            reason=proposed.reason,
            detail={"case_id": infection.case_id},
        )
