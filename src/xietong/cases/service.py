"""Cases: registration by field workers and from the screening domain's case candidates, how each
was found (under control or on the surface, from the state at detection), reclassification and
conversions, the places of a case, and the functions other domains call (referral needs of
contacts, bed occupancy).

Reads are scoped: a district user sees the cases reported in or living in the district (404
otherwise); every read and change of a case is audited like a person record.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases import notices, registration
from xietong.cases.classification import (
    ReclassificationRefused,
    reclassify,
)
from xietong.cases.clusters import service as cluster_service
from xietong.cases.models import Case, CasePlace
from xietong.cases.schemas import (
    CandidateIntake,
    CaseCreate,
    CaseRead,
    Classification,
    PlaceCreate,
    PlaceRead,
)
from xietong.core.clock import CLOCK_SKEW, DEFAULT_TZ, local_day
from xietong.core.errors import Conflict, NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import SYSTEM, Permission, Principal
from xietong.people import service as people_service
from xietong.screening import service as screening_service
from xietong.screening.schemas import CaseCandidateRead

# --- scoping ---------------------------------------------------------------------------------


def case_visibility(principal: Principal) -> ColumnElement[bool] | None:
    """Cases a principal may see: None means every case (the city)."""
    if principal.district_id is None:
        return None
    return or_(
        Case.report_district_id == principal.district_id,
        Case.residence_district_id == principal.district_id,
    )


def visible_cases(principal: Principal) -> Select[Case]:
    """The one query every read of cases starts from."""
    clause = case_visibility(principal)
    query = select(Case)
    return query if clause is None else query.where(clause)


def get_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    reason: str | None = None,
    audit: bool = True,
) -> Case:
    """Read one case within the principal's jurisdiction (404 outside it); the read is audited."""
    principal.require(Permission.read_persons)
    case = session.scalar(visible_cases(principal).where(Case.id == case_id))
    if case is None:
        raise NotFound(f"no case {case_id}", code="case_not_found")
    if audit:
        auth_service.record_audit(
            session,
            principal=principal,
            action="read",
            entity="case",
            entity_ids=[case.id],
            reason=reason,
        )
    return case


def case_exists(session: Session, *, case_id: int) -> Case:
    """A case whatever its district (for links across districts: no personal data returned)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", code="case_not_found")
    return case


# --- reads -----------------------------------------------------------------------------------


def to_read(session: Session, case: Case) -> CaseRead:
    return to_reads(session, [case])[0]


def to_reads(session: Session, cases: Sequence[Case]) -> list[CaseRead]:
    codes = areas_service.district_code_by_id(session)
    buildings = areas_service.buildings_by_id(
        session,
        ids=[c.residence_building_id for c in cases] + [c.found_building_id for c in cases],
    )

    def code_of(building_id: int | None) -> str | None:
        return buildings[building_id].code if building_id in buildings else None

    return [
        CaseRead(
            id=c.id,
            person_id=c.person_id,
            classification=c.classification,
            initial_classification=c.initial_classification,
            source=c.source,
            detected_at=c.detected_at,
            report_day=c.report_day,
            onset_day=c.onset_day,
            report_district_code=codes[c.report_district_id],
            residence_district_code=codes[c.residence_district_id],
            residence_building_code=code_of(c.residence_building_id),
            found_building_code=code_of(c.found_building_id),
            found_under_control=c.found_under_control,
            control_reason=c.control_reason,
            converted_at=c.converted_at,
            conversion_day=c.conversion_day,
            policy_version=c.policy_version,
            note=c.note,
            created_at=c.created_at,
        )
        for c in cases
    ]


def list_cases(
    session: Session,
    *,
    principal: Principal,
    district_code: str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    classification: Classification | None = None,
    on_surface: bool | None = None,
    updated_since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """A page of cases in the principal's jurisdiction, newest report first (audited)."""
    principal.require(Permission.read_persons)
    query = visible_cases(principal)
    if district_code is not None:
        query = query.where(
            Case.report_district_id == areas_service.get_district(session, code=district_code).id
        )
    if first_day is not None:
        query = query.where(Case.report_day >= first_day)
    if last_day is not None:
        query = query.where(Case.report_day <= last_day)
    if classification is not None:
        query = query.where(Case.classification == classification)
    if on_surface is not None:
        query = query.where(Case.found_under_control.is_(not on_surface))
    if updated_since is not None:
        query = query.where(Case.updated_at > updated_since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    cases = list(
        session.scalars(
            query.order_by(Case.report_day.desc(), Case.id.desc()).limit(limit).offset(offset)
        )
    )
    auth_service.record_audit(
        session, principal=principal, action="list", entity="case", entity_ids=[c.id for c in cases]
    )
    return cases, total


# --- creating cases --------------------------------------------------------------------------


def _existing_case_of(session: Session, person_ids: Collection[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = session.execute(select(Case.person_id, Case.id).where(Case.person_id.in_(person_ids)))
    return {person_id: case_id for person_id, case_id in rows}


def create_case(
    session: Session,
    *,
    principal: Principal,
    case_in: CaseCreate,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> Case:
    """Register a case found by a field worker; how it was found is computed, never given."""
    principal.require(Permission.write_persons)
    if case_in.detected_at > now + CLOCK_SKEW:
        raise ValidationFailed(
            errors=[RowError("case", "detected_at", "lies in the future", str(case_in.detected_at))]
        )
    person = people_service.get_person(
        session, principal=principal, person_id=case_in.person_id, reason="case report"
    )
    existing = _existing_case_of(session, [person.id])
    if existing:
        raise Conflict(
            "the person is already a case",
            code="case_exists",
            details={"case_id": existing[person.id]},
        )
    report_district_id = person.current_district_id
    if case_in.report_district_code is not None:
        report_district_id = areas_service.get_district(
            session, code=case_in.report_district_code
        ).id
    if principal.district_id is not None:
        if case_in.report_district_code is not None and report_district_id != principal.district_id:
            raise PermissionDenied("a district reports its own cases only")
        report_district_id = principal.district_id
    found_building_id = found_district_id = None
    if case_in.found_building_code:
        building = areas_service.get_building(session, code=case_in.found_building_code)
        found_building_id, found_district_id = building.id, building.district_id
    [case] = registration.insert_cases(
        session,
        rows=[
            registration.NewCase(
                person=person,
                classification=case_in.classification,
                source="field",
                detected_at=case_in.detected_at.astimezone(now.tzinfo),
                onset_day=case_in.onset_day,
                report_district_id=report_district_id,
                found_building_id=found_building_id,
                found_district_id=found_district_id,
                note=case_in.note,
            )
        ],
        created_by=principal.username,
        now=now,
        tz=tz,
    )
    cluster_service.propose_for_cases(session, case_ids=[case.id], now=now, tz=tz)
    auth_service.record_audit(
        session, principal=principal, action="create", entity="case", entity_ids=[case.id]
    )
    return case


def create_cases_from_candidates(
    session: Session,
    *,
    now: datetime,
    tz: str = DEFAULT_TZ,
    limit: int = 10_000,
    classification: Classification = "asymptomatic",
) -> CandidateIntake:
    """Turn the screening domain's pending case candidates into cases, in the caller's transaction.

    A positive single tube is reported as asymptomatic until a clinician says otherwise (on the
    report day a change is a correction, later a conversion). A candidate whose person is already
    a case adds nothing. Candidates are read `limit` at a time until none is pending, and marked
    consumed in the same transaction.
    """
    intake = CandidateIntake()
    while candidates := screening_service.pending_case_candidates(session, limit=limit):
        created, already, unknown = _cases_of_candidates(
            session, candidates, classification=classification, now=now, tz=tz
        )
        screening_service.mark_case_candidates_consumed(
            session, candidate_ids=[c.id for c in candidates], now=now
        )
        intake.candidates += len(candidates)
        intake.cases_created += len(created)
        intake.already_cases += already
        intake.unknown_persons += unknown
        intake.case_ids += created
    cluster_service.propose_for_cases(session, case_ids=intake.case_ids, now=now, tz=tz)
    auth_service.record_audit(
        session, principal=SYSTEM, action="create", entity="case", entity_ids=intake.case_ids
    )
    return intake


def _cases_of_candidates(
    session: Session,
    candidates: Sequence[CaseCandidateRead],
    *,
    classification: Classification,
    now: datetime,
    tz: str,
) -> tuple[list[int], int, int]:
    person_ids = {c.person_id for c in candidates}
    persons = people_service.persons_by_id(session, ids=person_ids)
    auth_service.record_audit(
        session,
        principal=SYSTEM,
        action="read",
        entity="person",
        entity_ids=sorted(persons),
        reason="case candidates from screening",
    )
    cases_of = _existing_case_of(session, person_ids)
    found = areas_service.buildings_by_id(session, ids=[c.sampling_building_id for c in candidates])
    rows: list[registration.NewCase] = []
    already = unknown = 0
    for candidate in sorted(candidates, key=lambda c: (c.detected_at, c.id)):
        person = persons.get(candidate.person_id)
        if person is None:
            # A person purged since the result came in: nothing to report.
            unknown += 1
            continue
        if person.id in cases_of:
            already += 1
            continue
        building = found.get(candidate.sampling_building_id or -1)
        rows.append(
            registration.NewCase(
                person=person,
                classification=classification,
                source="screening",
                candidate_id=candidate.id,
                detected_at=candidate.detected_at,
                report_district_id=candidate.sampling_district_id,
                found_building_id=building.id if building else None,
                found_district_id=building.district_id if building else None,
                # The retest's result releases the hold at the very instant it makes the case:
                # the person was held when the retest sample was taken.
                held_checked_at=(candidate.sampled_at,),
            )
        )
        cases_of[person.id] = 0
    created = registration.insert_cases(
        session, rows=rows, created_by=SYSTEM.username, now=now, tz=tz
    )
    return [c.id for c in created], already, unknown


# --- changes ---------------------------------------------------------------------------------


def reclassify_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    classification: Classification,
    at: datetime,
    tz: str = DEFAULT_TZ,
) -> Case:
    """Change a case's class: a correction on its report day, a conversion after it."""
    principal.require(Permission.write_persons)
    case = get_case(session, principal=principal, case_id=case_id, audit=False)
    try:
        change = reclassify(
            current=cast(Classification, case.classification),
            initial=cast(Classification, case.initial_classification),
            new=classification,
            report_day=case.report_day,
            change_day=local_day(at, tz),
        )
    except ReclassificationRefused as exc:
        raise Conflict(str(exc), code="reclassification_refused") from None
    previous = case.classification
    case.classification = change.classification
    case.initial_classification = change.initial_classification
    if change.is_conversion:
        case.converted_at = at
        case.conversion_day = local_day(at, tz)
    case.updated_at = at
    session.flush()
    auth_service.record_audit(
        session,
        principal=principal,
        action="conversion" if change.is_conversion else "reclassify",
        entity="case",
        entity_ids=[case.id],
        detail={"classification": classification},
    )
    notices.send_reclassified(session, case, previous=previous, actor=principal.username, now=at)
    return case


def add_place(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    place_in: PlaceCreate,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> CasePlace:
    """Record a workplace, venue or visit of a case; it may propose the case into a cluster."""
    principal.require(Permission.write_persons)
    case = get_case(session, principal=principal, case_id=case_id, audit=False)
    building = areas_service.get_building(session, code=place_in.building_code)
    exists = session.scalar(
        select(CasePlace.id).where(
            CasePlace.case_id == case.id,
            CasePlace.building_id == building.id,
            CasePlace.role == place_in.role,
        )
    )
    if exists is not None:
        raise Conflict("this place is already recorded for the case", code="place_exists")
    place = CasePlace(
        case_id=case.id,
        building_id=building.id,
        district_id=building.district_id,
        role=place_in.role,
        day=place_in.visited_on or case.report_day,
        added_by=principal.username,
        added_at=now,
    )
    session.add(place)
    session.flush()
    case.updated_at = now
    cluster_service.propose_for_cases(session, case_ids=[case.id], now=now, tz=tz)
    auth_service.record_audit(
        session,
        principal=principal,
        action="add_place",
        entity="case",
        entity_ids=[case.id],
        detail={"building": building.code, "role": place_in.role},
    )
    return place


def places_of(session: Session, *, case: Case) -> list[PlaceRead]:
    rows = list(
        session.scalars(
            select(CasePlace).where(CasePlace.case_id == case.id).order_by(CasePlace.id)
        )
    )
    codes = areas_service.district_code_by_id(session)
    buildings = areas_service.buildings_by_id(session, ids=[p.building_id for p in rows])
    return [
        PlaceRead(
            building_code=buildings[p.building_id].code,
            district_code=codes[p.district_id],
            role=p.role,
            day=p.day,
        )
        for p in rows
    ]
