"""Registering cases in sets: the one place the rules of a new case live, whether it comes alone
(a field worker's report) or with thousands (the positives of a laboratory file, a line list).

A new case is classified from the state at its detection (under a quarantine order, held as a
pool member, inside a locked building: under control; else on the surface), ends the quarantine
order that held its person, records its places (home, where found) and its infection in its
building (which may propose the building or withdraw its lifting). The state is read for the
whole batch at once, a statement per table, and the rows are written in bulk, so that a batch
costs the same few statements whatever its size; one case is a batch of one.

Bad rows of a batch (`register_cases`) refuse the whole batch, each named with its field and
reason, before anything is written: as a laboratory file is refused unless asked to load its
valid rows. Clusters are proposed by the caller once for all the cases it registered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases import notices
from xietong.cases.classification import ControlState, Detection, classify_detection
from xietong.cases.clusters import service as cluster_service
from xietong.cases.models import Case, CasePlace, QuarantineOrder
from xietong.cases.quarantine.service import active_orders_at, holds_any
from xietong.cases.schemas import CaseCreate, Classification
from xietong.core.clock import CLOCK_SKEW, DEFAULT_TZ, local_day
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.people.service import Person
from xietong.policy.service import policy_in_force
from xietong.screening import service as screening_service
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import chunks, dialect_of, insert_with_ids, member_of, table_of
from xietong.zones.infections import NewInfection, locked_at, record_infections


@dataclass(frozen=True, kw_only=True)
class NewCase:
    """A case about to be registered, its person and places resolved and checked."""

    person: Person
    classification: Classification
    source: str  # "field" | "screening"
    detected_at: datetime
    report_district_id: int
    candidate_id: int | None = None
    onset_day: date | None = None
    found_building_id: int | None = None
    found_district_id: int | None = None
    note: str | None = None
    # Further instants at which a hold counts (a retest sample's time: the result that makes
    # the case releases the hold at the very instant it is reported).
    held_checked_at: tuple[datetime, ...] = ()

    @property
    def building_id(self) -> int | None:
        """The infection's building: where the person was found when known, else home."""
        return self.found_building_id or self.person.residence_building_id

    @property
    def building_district_id(self) -> int | None:
        if self.found_building_id is not None:
            return self.found_district_id
        return self.person.residence_district_id


def detections(
    session: Session, *, rows: Sequence[NewCase], tz: str = DEFAULT_TZ
) -> list[tuple[Detection, int | None]]:
    """How each infection was found, and the order that held its person if that was the reason."""
    orders = active_orders_at(session, checks=[(r.person.id, r.detected_at) for r in rows], tz=tz)
    instants = [(r.person.id, at) for r in rows for at in (r.detected_at, *r.held_checked_at)]
    held_answers = iter(screening_service.held_at(session, checks=instants))
    held = [any([next(held_answers) for _ in range(1 + len(r.held_checked_at))]) for r in rows]
    in_area = locked_at(session, checks=[(r.building_id, r.detected_at) for r in rows], tz=tz)
    found = []
    for order, is_held, locked in zip(orders, held, in_area, strict=True):
        detection = classify_detection(
            ControlState(
                under_quarantine_order=order is not None,
                held_as_pool_member=is_held,
                in_high_risk_area=locked,
            )
        )
        order_id = (
            order.id if order is not None and detection.reason == "quarantine_order" else None
        )
        found.append((detection, order_id))
    return found


def insert_cases(
    session: Session, *, rows: Sequence[NewCase], created_by: str, now: datetime, tz: str
) -> list[Case]:
    """Write checked cases, in order, with what each sets off; the cases, in the same order."""
    if not rows:
        return []
    found = detections(session, rows=rows, tz=tz)
    columns = list(_CASE_COLUMNS)
    values = []
    for row, (detection, order_id) in zip(rows, found, strict=True):
        report_day = local_day(row.detected_at, tz)
        values.append(
            (
                row.person.id,
                row.classification,
                row.classification,
                row.source,
                row.candidate_id,
                row.detected_at,
                report_day,
                row.onset_day,
                row.report_district_id,
                row.person.residence_district_id,
                row.person.residence_building_id,
                row.found_building_id,
                detection.found_under_control,
                detection.reason,
                order_id,
                policy_in_force(session, day=report_day).version,
                row.note,
                created_by,
                now,
                now,
            )
        )
    ids = insert_with_ids(session, Case, columns, values)
    cases = _cases_by_id(session, ids)
    _end_orders(session, cases, now=now)
    places: list[tuple[object, ...]] = []
    for row, case in zip(rows, cases, strict=True):
        if row.person.residence_building_id is not None:
            places.append(
                (
                    case.id,
                    row.person.residence_building_id,
                    row.person.residence_district_id,
                    "residence",
                    case.report_day,
                    created_by,
                    now,
                )
            )
        if row.found_building_id is not None and row.found_district_id is not None:
            places.append(
                (
                    case.id,
                    row.found_building_id,
                    row.found_district_id,
                    "found",
                    case.report_day,
                    created_by,
                    now,
                )
            )
    bulk_insert(
        session,
        table_of(CasePlace),
        ["case_id", "building_id", "district_id", "role", "day", "added_by", "added_at"],
        places,
    )
    infections = []
    for row, case, (detection, _) in zip(rows, cases, found, strict=True):
        if row.building_id is not None and row.building_district_id is not None:
            infections.append(
                NewInfection(
                    building_id=row.building_id,
                    district_id=row.building_district_id,
                    person_id=row.person.id,
                    detected_at=row.detected_at,
                    on_surface=detection.on_surface,
                    case_id=case.id,
                )
            )
    record_infections(session, infections=infections, tz=tz, now=now)
    notices.send_recorded_many(session, cases, now=now)
    return cases


_CASE_COLUMNS = (
    "person_id",
    "classification",
    "initial_classification",
    "source",
    "candidate_id",
    "detected_at",
    "report_day",
    "onset_day",
    "report_district_id",
    "residence_district_id",
    "residence_building_id",
    "found_building_id",
    "found_under_control",
    "control_reason",
    "control_order_id",
    "policy_version",
    "note",
    "created_by",
    "created_at",
    "updated_at",
)


def _cases_by_id(session: Session, ids: Sequence[int]) -> list[Case]:
    found: dict[int, Case] = {}
    dialect = dialect_of(session)
    for part in chunks(ids):
        found.update(
            (c.id, c)
            for c in session.scalars(select(Case).where(member_of(Case.id, part, dialect=dialect)))
        )
    return [found[i] for i in ids]


def _end_orders(session: Session, cases: Sequence[Case], *, now: datetime) -> None:
    """A contact under quarantine who turns positive leaves the order (and its bed) for care."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for case in cases:
        by_day[case.report_day].append(case.person_id)
    dialect = dialect_of(session)
    for day, person_ids in sorted(by_day.items()):
        for part in chunks(person_ids):
            session.execute(
                update(QuarantineOrder)
                .where(holds_any(part, dialect=dialect), QuarantineOrder.status == "active")
                .values(status="became_case", ended_on=day, updated_at=now)
                .execution_options(synchronize_session="fetch")
            )


def existing_cases(session: Session, *, person_ids: Sequence[int]) -> dict[int, int]:
    """Person → its case, for the persons of `person_ids` who are cases."""
    found: dict[int, int] = {}
    dialect = dialect_of(session)
    for part in chunks(sorted(set(person_ids))):
        rows = session.execute(
            select(Case.person_id, Case.id).where(member_of(Case.person_id, part, dialect=dialect))
        )
        found.update((person_id, case_id) for person_id, case_id in rows)
    return found


def register_cases(
    session: Session,
    *,
    principal: Principal,
    cases: Sequence[CaseCreate],
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> list[Case]:
    """Register cases found by field workers, all or none: a bad row refuses the batch, every
    bad row named (`case N`, 1-based) with its field and reason."""
    checked = check_cases(session, principal=principal, cases=cases, now=now)
    errors = [e for row in checked if isinstance(row, list) for e in row]
    if errors:
        raise ValidationFailed(errors=errors, summary="cases refused")
    rows = [row for row in checked if isinstance(row, NewCase)]
    return write_cases(session, principal=principal, rows=rows, now=now, tz=tz)


def check_cases(
    session: Session,
    *,
    principal: Principal,
    cases: Sequence[CaseCreate],
    now: datetime,
) -> list[NewCase | list[RowError]]:
    """Check field cases as one batch, reading what the rules need once: for each, in order,
    the case ready to write or its problems (`case N`, 1-based, with field and reason)."""
    principal.require(Permission.write_persons)
    dialect = dialect_of(session)
    person_ids = sorted({c.person_id for c in cases})
    persons: dict[int, Person] = {}
    query = people_service.visible_persons(principal, at=now)
    for part in chunks(person_ids):
        persons.update(
            (p.id, p)
            for p in session.scalars(query.where(member_of(Person.id, part, dialect=dialect)))
        )
    already = existing_cases(session, person_ids=person_ids)
    district_ids = areas_service.district_id_by_code(session)
    found = areas_service.buildings_by_code(session, codes=[c.found_building_code for c in cases])
    checked: list[NewCase | list[RowError]] = []
    seen: set[int] = set()
    for n, case_in in enumerate(cases, start=1):
        problems = _problems(
            f"case {n}",
            case_in,
            principal=principal,
            person=persons.get(case_in.person_id),
            case_id=already.get(case_in.person_id),
            twice=case_in.person_id in seen,
            district_ids=district_ids,
            found=found,
            now=now,
        )
        seen.add(case_in.person_id)
        if problems:
            checked.append(problems)
            continue
        person = persons[case_in.person_id]
        building = found.get(case_in.found_building_code or "")
        checked.append(
            NewCase(
                person=person,
                classification=case_in.classification,
                source="field",
                detected_at=case_in.detected_at.astimezone(now.tzinfo),
                onset_day=case_in.onset_day,
                report_district_id=principal.district_id
                or district_ids.get(case_in.report_district_code or "", 0)
                or person.current_district_id,
                found_building_id=building.id if building else None,
                found_district_id=building.district_id if building else None,
                note=case_in.note,
            )
        )
    # Every person asked for was read, whether its row passed or not.
    people_service.audit_persons(
        session, principal=principal, action="read", ids=person_ids, reason="case report"
    )
    return checked


def write_cases(
    session: Session,
    *,
    principal: Principal,
    rows: Sequence[NewCase],
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> list[Case]:
    """Write field cases checked by `check_cases`, propose their clusters and audit them."""
    made = insert_cases(session, rows=rows, created_by=principal.username, now=now, tz=tz)
    cluster_service.propose_for_cases(session, case_ids=[c.id for c in made], now=now, tz=tz)
    auth_service.record_audit(
        session,
        principal=principal,
        action="create",
        entity="case",
        entity_ids=[c.id for c in made],
    )
    return made


def _problems(
    record: str,
    case_in: CaseCreate,
    *,
    principal: Principal,
    person: Person | None,
    case_id: int | None,
    twice: bool,
    district_ids: dict[str, int],
    found: dict[str, areas_service.BuildingPlace],
    now: datetime,
) -> list[RowError]:
    problems = []
    person_ref = str(case_in.person_id)
    if person is None:
        problems.append(
            RowError(record, "person_id", "no such person in your jurisdiction", person_ref)
        )
    elif twice:
        problems.append(RowError(record, "person_id", "appears twice in the batch", person_ref))
    elif case_id is not None:
        problems.append(
            RowError(record, "person_id", f"the person is already case {case_id}", person_ref)
        )
    if case_in.detected_at > now + CLOCK_SKEW:
        problems.append(
            RowError(record, "detected_at", "lies in the future", str(case_in.detected_at))
        )
    code = case_in.report_district_code
    if code is not None:
        if code not in district_ids:
            problems.append(RowError(record, "report_district_code", "unknown district", code))
        elif principal.district_id is not None and district_ids[code] != principal.district_id:
            problems.append(
                RowError(
                    record, "report_district_code", "a district reports its own cases only", code
                )
            )
    building_code = case_in.found_building_code
    if building_code and building_code not in found:
        problems.append(RowError(record, "found_building_code", "unknown building", building_code))
    return problems
