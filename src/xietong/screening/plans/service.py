"""The plan of a day and its coverage (part of the screening service).

Issuing a plan stores, for the day, every building due and how it tests, computed by `plan.py`
from the buildings, the persons staying in each, the high-risk set (an input: the zones domain owns
it, `flows.screening` passes it in), each district's recent positivity and the policy of the day.
Coverage compares a round with its plan, per district or per building: persons planned, swabs
taken, resulted, persons missed (due with no sample that round) and positivity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, exists, func, select, true
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Permission, Principal, Role
from xietong.people import service as people_service
from xietong.policy.service import policy_in_force
from xietong.screening.models import LabResult, Membership, Plan, PlannedBuilding, Tube
from xietong.screening.plans import rules as planner
from xietong.screening.schemas import (
    CoverageRead,
    CoverageRow,
    PlanBuildingRead,
    PlanDistrictRead,
    PlanRead,
)
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import table_of


def building_code_by_id(session: Session, *, ids: Collection[int]) -> dict[int, str]:
    """Building id → code of the buildings of `ids` (a page's, not a district's thousands)."""
    return {i: place.code for i, place in areas_service.buildings_by_id(session, ids=ids).items()}


def _buildings(session: Session, *, district_id: int | None = None) -> list[planner.BuildingToPlan]:
    """The buildings to plan (of one district when `district_id` is given) with the persons
    staying in each."""
    central = {d.id for d in areas_service.list_districts(session) if d.central_urban}
    keys = people_service.person_keys()
    counted = select(keys.c.current_building_id, func.count()).where(
        keys.c.current_building_id.is_not(None)
    )
    if district_id is not None:
        # A person's district of stay is its building's (`people.service`): one district's
        # persons are read through the index on it, not the whole city's.
        counted = counted.where(keys.c.current_district_id == district_id)
    persons: dict[int, int] = dict(
        session.execute(counted.group_by(keys.c.current_building_id)).all()
    )
    return [
        planner.BuildingToPlan(id_, code, district, district in central, persons.get(id_, 0))
        for id_, code, district in areas_service.building_rows(session, district_id=district_id)
    ]


def district_prevalence(
    session: Session, *, day: date, district_id: int | None = None
) -> dict[int, float | None]:
    """Share of positive persons in each district's screening over the policy's window (of
    one district only when `district_id` is given).

    Known only for a district screened on at least as many days as the central urban area's
    rounds in the window; positive persons are positive single tubes (a pool is not a person).
    """
    rules = policy_in_force(session, day=day).screening
    first = day - timedelta(days=rules.low_prevalence_window_days)
    every = rules.interval_days.every_days("central_urban_area") or 1
    least_rounds = max(1, rules.low_prevalence_window_days // every)
    window = and_(
        Tube.round_day >= first,
        Tube.round_day < day,
        true() if district_id is None else Tube.district_id == district_id,
    )
    rows = session.execute(
        select(
            Tube.district_id, func.sum(Tube.member_count), func.count(func.distinct(Tube.round_day))
        )
        .where(window)
        .group_by(Tube.district_id)
    )
    # Only the window's single tubes are looked up in the results, one by one on the result's
    # unique tube index: joining every pool to its result made PostgreSQL hash the whole result
    # table (277 ms of a district's 24,000 tubes at half a million persons, 8 ms now).
    positives: dict[int, int] = {
        district: count
        for district, count in session.execute(
            select(Tube.district_id, func.count())
            .join(LabResult, LabResult.tube_id == Tube.id)
            .where(window, Tube.member_count == 1, LabResult.outcome == "positive")
            .group_by(Tube.district_id)
        )
    }
    return {
        district: positives.get(district, 0) / swabs if swabs and rounds >= least_rounds else None
        for district, swabs, rounds in rows
    }


def compute_plan(
    session: Session,
    *,
    day: date,
    high_risk_building_ids: Collection[int],
    wind_down_first_rounds: Mapping[int, date] | None = None,
    district_id: int | None = None,
) -> list[planner.PlanEntry]:
    """The plan of `day` without storing it; with `district_id`, that district's entries only.

    A building's entry depends on the building, the persons staying in it, whether it is high
    risk and its own district's prevalence and rounds, so one district's entries are the city
    plan's entries of that district, computed from that district's persons and tubes alone.
    """
    return planner.plan_day(
        day=day,
        buildings=_buildings(session, district_id=district_id),
        high_risk_building_ids=high_risk_building_ids,
        rules=policy_in_force(session, day=day).screening,
        prevalence=district_prevalence(session, day=day, district_id=district_id),
        wind_down_first_rounds=wind_down_first_rounds,
    )


def issue_plan(
    session: Session,
    *,
    principal: Principal,
    day: date,
    high_risk_building_ids: Collection[int],
    wind_down_first_rounds: Mapping[int, date] | None = None,
    now: datetime,
) -> Plan:
    """Store the plan of `day`, replacing an earlier issue (e.g. after a new designation)."""
    if principal.role is not Role.command:
        raise PermissionDenied("only the command centre issues the screening plan")
    entries = compute_plan(
        session,
        day=day,
        high_risk_building_ids=high_risk_building_ids,
        wind_down_first_rounds=wind_down_first_rounds,
    )
    policy = policy_in_force(session, day=day)
    session.execute(delete(PlannedBuilding).where(PlannedBuilding.day == day))
    session.execute(delete(Plan).where(Plan.day == day))
    plan = Plan(
        day=day,
        policy_version=policy.version,
        mode=policy.screening.mode,
        high_risk_buildings=len(set(high_risk_building_ids)),
        issued_at=now,
        issued_by=principal.username,
    )
    session.add(plan)
    session.flush()
    bulk_insert(
        session,
        table_of(PlannedBuilding),
        ["day", "building_id", "district_id", "status", "every_days", "pool_size", "persons"],
        (
            (day, e.building_id, e.district_id, e.status, e.every_days, e.pool_size, e.persons)
            for e in entries
        ),
    )
    return plan


def get_issued_plan(session: Session, *, day: date) -> Plan | None:
    return session.get(Plan, day)


def stored_entries(session: Session, *, day: date) -> list[planner.PlanEntry]:
    return [
        planner.PlanEntry(
            b.building_id, b.district_id, b.status, b.every_days, b.pool_size, b.persons
        )
        for b in session.scalars(select(PlannedBuilding).where(PlannedBuilding.day == day))
    ]


def planned_tubes(session: Session, *, day: date) -> dict[int, int]:
    """District id → tubes the issued plan of `day` needs (empty when no plan was issued)."""
    return planner.tubes_needed(stored_entries(session, day=day))


def plan_read(
    session: Session,
    *,
    principal: Principal,
    day: date,
    entries: list[planner.PlanEntry],
    plan: Plan | None,
    high_risk_buildings: int,
    district_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> PlanRead:
    """The plan as the API shows it: per district, and a page of buildings (scoped)."""
    if not principal.can(Permission.read_areas):
        raise PermissionDenied(f"role {principal.role} may not read plans")
    codes = areas_service.district_code_by_id(session)
    wanted = principal.district_id
    if district_code is not None:
        district = areas_service.get_district(session, code=district_code)
        if wanted is not None and district.id != wanted:
            raise NotFound("no such district in your jurisdiction", code="district_not_found")
        wanted = district.id
    if wanted is not None:
        entries = [e for e in entries if e.district_id == wanted]
    per: dict[int, list[planner.PlanEntry]] = defaultdict(list)
    for entry in entries:
        per[entry.district_id].append(entry)
    tubes = planner.tubes_needed(entries)
    districts = [
        PlanDistrictRead(
            district_code=codes[district],
            buildings=len(items),
            persons=sum(e.persons for e in items),
            tubes=tubes.get(district, 0),
            by_status={
                status: sum(1 for e in items if e.status == status)
                for status in sorted({e.status for e in items})
            },
        )
        for district, items in sorted(per.items(), key=lambda kv: codes[kv[0]])
    ]
    page = sorted(entries, key=lambda e: (codes[e.district_id], e.building_id))[
        offset : offset + limit
    ]
    building_codes = building_code_by_id(session, ids=[e.building_id for e in page])
    policy = policy_in_force(session, day=day)
    return PlanRead(
        day=day,
        issued=plan is not None,
        policy_version=plan.policy_version if plan else policy.version,
        mode=plan.mode if plan else policy.screening.mode,
        high_risk_buildings=plan.high_risk_buildings if plan else high_risk_buildings,
        issued_at=plan.issued_at if plan else None,
        districts=districts,
        buildings=[
            PlanBuildingRead(
                building_code=building_codes[e.building_id],
                district_code=codes[e.district_id],
                status=e.status,
                reason=e.reason,
                pool_size=e.pool_size,
                persons=e.persons,
            )
            for e in page
        ],
        buildings_total=len(entries),
    )


def coverage(
    session: Session, *, principal: Principal, day: date, district_code: str | None = None
) -> CoverageRead:
    """Planned, sampled, resulted, missed and positivity of a round, per district — or per
    building of one district when `district_code` is given (persons-based there)."""
    if not principal.can(Permission.read_areas):
        raise PermissionDenied(f"role {principal.role} may not read coverage")
    codes = areas_service.district_code_by_id(session)
    only = principal.district_id
    if district_code is not None:
        district = areas_service.get_district(session, code=district_code)
        if only is not None and district.id != only:
            raise NotFound("no such district in your jurisdiction", code="district_not_found")
        return _building_coverage(session, day=day, district_id=district.id)
    keys = people_service.person_keys()
    planned_people = (
        select(keys.c.id.label("person_id"), PlannedBuilding.district_id)
        .join(
            PlannedBuilding,
            and_(
                PlannedBuilding.building_id == keys.c.current_building_id,
                PlannedBuilding.day == day,
            ),
        )
        # A district's user reads its own district only: the city's persons are not counted
        # for a row that would not be shown.
        .where(true() if only is None else PlannedBuilding.district_id == only)
        .subquery()
    )
    sampled_that_round = exists().where(
        Membership.round_day == day, Membership.person_id == planned_people.c.person_id
    )
    people = {
        district: (planned, missed)
        for district, planned, missed in session.execute(
            select(
                planned_people.c.district_id,
                func.count(),
                func.sum(case((~sampled_that_round, 1), else_=0)),
            ).group_by(planned_people.c.district_id)
        )
    }
    tubes = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Tube.district_id,
                func.sum(Tube.member_count),
                func.sum(case((LabResult.id.is_not(None), Tube.member_count), else_=0)),
                func.count(),
                func.count(LabResult.id),
                func.sum(case((LabResult.outcome == "positive", 1), else_=0)),
            )
            .outerjoin(LabResult, LabResult.tube_id == Tube.id)
            .where(Tube.round_day == day, true() if only is None else Tube.district_id == only)
            .group_by(Tube.district_id)
        )
    }
    rows = []
    for district in sorted(set(people) | set(tubes), key=lambda d: codes[d]):
        if only is not None and district != only:
            continue
        planned, missed = people.get(district, (0, 0))
        swabs, resulted, n_tubes, n_resulted, n_positive = tubes.get(district, (0, 0, 0, 0, 0))
        rows.append(
            CoverageRow(
                area_code=codes[district],
                area_level="district",
                planned=planned,
                sampled=swabs or 0,
                resulted=resulted or 0,
                missed=missed or 0,
                tubes=n_tubes,
                tubes_resulted=n_resulted,
                tubes_positive=n_positive or 0,
                positivity=(n_positive or 0) / n_resulted if n_resulted else None,
            )
        )
    return CoverageRead(day=day, plan_issued=session.get(Plan, day) is not None, rows=rows)


def _building_coverage(session: Session, *, day: date, district_id: int) -> CoverageRead:
    keys = people_service.person_keys()
    people = (
        select(keys.c.id.label("person_id"), PlannedBuilding.building_id)
        .join(
            PlannedBuilding,
            and_(
                PlannedBuilding.building_id == keys.c.current_building_id,
                PlannedBuilding.day == day,
            ),
        )
        .where(PlannedBuilding.district_id == district_id)
        .subquery()
    )
    rows = session.execute(
        select(
            people.c.building_id,
            func.count(func.distinct(people.c.person_id)),
            func.count(func.distinct(Membership.person_id)),
            func.count(func.distinct(case((LabResult.id.is_not(None), Membership.person_id)))),
            func.count(func.distinct(Membership.tube_id)),
            func.count(func.distinct(LabResult.tube_id)),
            func.count(func.distinct(case((LabResult.outcome == "positive", LabResult.tube_id)))),
        )
        .select_from(people)
        .outerjoin(
            Membership,
            and_(Membership.round_day == day, Membership.person_id == people.c.person_id),
        )
        .outerjoin(LabResult, LabResult.tube_id == Membership.tube_id)
        .group_by(people.c.building_id)
    ).all()
    codes = building_code_by_id(session, ids=[row[0] for row in rows])
    return CoverageRead(
        day=day,
        plan_issued=session.get(Plan, day) is not None,
        rows=[
            CoverageRow(
                area_code=codes[building],
                area_level="building",
                planned=planned,
                sampled=sampled,
                resulted=resulted,
                missed=planned - sampled,
                tubes=tubes,
                tubes_resulted=tubes_resulted,
                tubes_positive=positive,
                positivity=positive / tubes_resulted if tubes_resulted else None,
            )
            for building, planned, sampled, resulted, tubes, tubes_resulted, positive in sorted(
                rows, key=lambda r: codes[r[0]]
            )
        ],
    )
