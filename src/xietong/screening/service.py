"""The screening domain's operations: sites, tube registration, result intake, conflicts, tasks,
plans and coverage, and the functions other domains call (docs/domain-contracts.md).

The bulk paths live in `sampling.py` (tubes and members), `results.py` (results, set-based) and
`effects.py` (what a result sets off); the plan and coverage in `planning.py`, conflicts in
`conflicts.py` and the resample and retest tasks in `follow_ups.py`, whose functions are
re-exported here (`name as name`). Everything here takes a
session, flushes and never commits: the caller's transaction makes a file whole or nothing, and
a positive and everything it sets off one atomic change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NotRequired, TextIO, TypedDict, Unpack

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.clock import DEFAULT_TZ
from xietong.core.errors import Conflict, NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal, Role
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.screening.models import (
    CaseCandidate,
    Hold,
    LabResult,
    Membership,
    ReferralNeed,
    Site,
    Tube,
)
from xietong.screening.parsing import Chunk, Header, read_chunks, read_column_chunks
from xietong.screening.plans.service import compute_plan as compute_plan
from xietong.screening.plans.service import coverage as coverage
from xietong.screening.plans.service import district_prevalence as district_prevalence
from xietong.screening.plans.service import get_issued_plan as get_issued_plan
from xietong.screening.plans.service import issue_plan as issue_plan
from xietong.screening.plans.service import plan_read as plan_read
from xietong.screening.plans.service import planned_tubes as planned_tubes
from xietong.screening.plans.service import stored_entries as stored_entries
from xietong.screening.results import conflicts
from xietong.screening.results import service as results
from xietong.screening.results.conflicts import list_conflicts as list_conflicts
from xietong.screening.results.conflicts import resolve_conflict as resolve_conflict
from xietong.screening.results.follow_ups import list_resample_tasks as list_resample_tasks
from xietong.screening.results.follow_ups import list_retest_tasks as list_retest_tasks
from xietong.screening.sampling import service as sampling
from xietong.screening.sampling import tube_rows
from xietong.screening.schemas import (
    CaseCandidateRead,
    LabResultBatch,
    ReferralNeedRead,
    ResultBatchReport,
    ResultRecordRead,
    SiteCreate,
    SiteRead,
    TubeBatch,
    TubeBatchReport,
    TubeRead,
)
from xietong.storage import need_queue
from xietong.storage.bulk_sql import chunks, dialect_of, member_of


def _in_scope(principal: Principal, district_id: int) -> bool:
    return principal.district_id is None or principal.district_id == district_id


# --- sites -------------------------------------------------------------------------------------


def create_site(
    session: Session, *, principal: Principal, site_in: SiteCreate, now: datetime
) -> SiteRead:
    """Register a sampling site in a district (a district user: in its own)."""
    principal.require(Permission.write_areas)
    district = areas_service.get_district(session, code=site_in.district_code)
    if not _in_scope(principal, district.id):
        raise PermissionDenied("the site is outside your district")
    building_id = None
    if site_in.building_code:
        building = areas_service.get_building(session, code=site_in.building_code)
        if building.district_id != district.id:
            raise ValidationFailed(
                errors=[RowError("site", "building_code", "the building is in another district")]
            )
        building_id = building.id
    if session.scalar(select(Site.id).where(Site.code == site_in.code)) is not None:
        raise Conflict(f"site {site_in.code!r} exists", code="site_exists")
    site = Site(
        code=site_in.code,
        name=site_in.name,
        district_id=district.id,
        building_id=building_id,
        active=True,
        created_at=now,
    )
    session.add(site)
    session.flush()
    return SiteRead(
        id=site.id,
        code=site.code,
        name=site.name,
        district_code=district.code,
        building_code=site_in.building_code,
    )


def list_sites(session: Session, *, principal: Principal) -> list[SiteRead]:
    codes = areas_service.district_code_by_id(session)
    query = select(Site).where(Site.active).order_by(Site.code)
    if principal.district_id is not None:
        query = query.where(Site.district_id == principal.district_id)
    buildings = {ref.id: code for code, ref in areas_service.building_index(session).items()}
    return [
        SiteRead(
            id=s.id,
            code=s.code,
            name=s.name,
            district_code=codes[s.district_id],
            building_code=buildings.get(s.building_id) if s.building_id else None,
        )
        for s in session.scalars(query)
    ]


# --- tubes -------------------------------------------------------------------------------------


def _should_preload(session: Session, expected_rows: int | None) -> bool:
    if not expected_rows:
        return False
    largest = session.scalar(select(func.max(people_service.person_keys().c.id)))
    return largest is not None and expected_rows >= sampling.BITMAP_SHARE * largest


def _register(
    session: Session,
    *,
    principal: Principal,
    header: Header,
    chunks: Iterator[Chunk],
    label: Callable[[int], str],
    source: str,
    tz: str,
    now: datetime,
    protector: PersonalDataProtector | None,
    load_valid: bool,
    rejects_path: Path | None,
    expected_rows: int | None,
    preload: bool | None,
    progress: Callable[[int], None] | None,
) -> TubeBatchReport:
    principal.require(Permission.write_persons)
    intake = sampling.TubeIntake(
        session,
        principal=principal,
        header=header,
        label=label,
        tz=tz,
        now=now,
        protector=protector,
        load_valid=load_valid,
        rejects_path=rejects_path,
        preload=_should_preload(session, expected_rows) if preload is None else preload,
    )
    intake.feed(chunks, progress=progress)
    report = intake.finish()
    auth_service.record_audit(
        session,
        principal=principal,
        action="import",
        entity="screening_tubes",
        entity_ids=[source[:64]],
        detail=report.model_dump(),
    )
    return report


def register_tubes(
    session: Session,
    *,
    principal: Principal,
    batch: TubeBatch,
    tz: str = DEFAULT_TZ,
    now: datetime,
    protector: PersonalDataProtector | None = None,
) -> TubeBatchReport:
    """Register a batch of tubes and members; every bad record refuses the whole batch."""
    header = Header(
        {name: i for i, name in enumerate(tube_rows.TUBE_COLUMNS)}, len(tube_rows.TUBE_COLUMNS)
    )
    labels: list[str] = []
    rows: list[list[str]] = []
    empty: list[RowError] = []
    for t, tube in enumerate(batch.tubes):
        if not tube.person_ids and not tube.national_ids:
            empty.append(RowError(f"tubes[{t}]", "person_ids", "a tube needs at least one member"))
        common = [
            tube.tube_code,
            tube.site_code,
            tube.collected_at.isoformat(),
            str(tube.pool_size),
        ]
        tail = [tube.kind, tube.building_code or "", tube.replaces_tube_code or ""]
        for j, pid in enumerate(tube.person_ids):
            rows.append([*common, str(pid), "", *tail])
            labels.append(f"tubes[{t}].person_ids[{j}]")
        for j, number in enumerate(tube.national_ids):
            rows.append([*common, "", number, *tail])
            labels.append(f"tubes[{t}].national_ids[{j}]")
    try:
        report = _register(
            session,
            principal=principal,
            header=header,
            chunks=iter([(np.arange(len(rows), dtype=np.int64), rows)] if rows else []),
            label=labels.__getitem__,
            source="api",
            tz=tz,
            now=now,
            protector=protector,
            load_valid=False,
            rejects_path=None,
            expected_rows=len(rows),
            preload=None,
            progress=None,
        )
    except ValidationFailed as exc:
        raise ValidationFailed(
            errors=empty + exc.errors, summary=exc.summary, total=len(empty) + (exc.total or 0)
        ) from None
    if empty:
        raise ValidationFailed(errors=empty, summary="tubes refused; nothing was written")
    return report


class CsvFile(TypedDict):
    """A CSV file as a site or a laboratory delivers it: who delivers it, its text, its name
    (kept with the delivery and in the audit) and when; `tz` is the city's."""

    principal: Principal
    stream: TextIO
    source_name: str
    now: datetime
    tz: NotRequired[str]


class _RowsDelivered(TypedDict):
    principal: Principal
    label: Callable[[int], str]
    source: str
    tz: str
    now: datetime


def _by_line(file: CsvFile) -> _RowsDelivered:
    """What an intake is told of a file's rows besides their columns: who delivered them, when,
    from which file, and that each row is named by its line."""
    return {
        "principal": file["principal"],
        "label": lambda n: f"line {n}",
        "source": file["source_name"],
        "tz": file.get("tz", DEFAULT_TZ),
        "now": file["now"],
    }


def register_tubes_file(
    session: Session,
    *,
    protector: PersonalDataProtector | None = None,
    load_valid: bool = False,
    rejects_path: Path | None = None,
    expected_rows: int | None = None,
    preload: bool | None = None,
    chunk_rows: int = sampling.CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    **file: Unpack[CsvFile],
) -> TubeBatchReport:
    """Register tubes from CSV (one row per swab): whole file or nothing unless `load_valid`."""
    header, chunks = read_column_chunks(
        file["stream"],
        size=chunk_rows,
        required=tube_rows.REQUIRED,
        optional=tube_rows.TUBE_COLUMNS[4:],
        one_of=tube_rows.ONE_OF,
    )
    return _register(
        session,
        header=header,
        chunks=chunks,
        protector=protector,
        load_valid=load_valid,
        rejects_path=rejects_path,
        expected_rows=expected_rows,
        preload=preload,
        progress=progress,
        **_by_line(file),
    )


def get_tube(session: Session, *, principal: Principal, code: str) -> TubeRead:
    """A tube with its result of record (no members: those are personal data)."""
    row = session.execute(
        select(Tube, Site.code, LabResult)
        .join(Site, Site.id == Tube.site_id)
        .outerjoin(LabResult, LabResult.tube_id == Tube.id)
        .where(Tube.code == code)
    ).first()
    if row is None or (
        not _in_scope(principal, row[0].district_id) and principal.role is not Role.lab
    ):
        raise NotFound(f"no tube {code!r}", code="tube_not_found")
    tube, site_code, result = row
    return TubeRead(
        code=tube.code,
        site_code=site_code,
        district_code=areas_service.district_code_by_id(session)[tube.district_id],
        kind=tube.kind,
        pool_size=tube.pool_size,
        member_count=tube.member_count,
        collected_at=tube.collected_at,
        round_day=tube.round_day,
        result=conflicts.view(result) if result is not None else None,
    )


# --- results -----------------------------------------------------------------------------------


def ingest_lab_results(
    session: Session,
    *,
    principal: Principal,
    batch: LabResultBatch,
    tz: str = DEFAULT_TZ,
    now: datetime,
) -> ResultBatchReport:
    """Apply a batch of results posted by a laboratory; any bad record refuses the batch."""
    return ingest_lab_result_records(
        session,
        principal=principal,
        records=[
            [
                r.tube_code,
                r.result,
                "" if r.ct_value is None else repr(r.ct_value),
                r.lab,
                r.reported_at.isoformat(),
            ]
            for r in batch.results
        ],
        label=lambda i: f"results[{i}]",
        source="api",
        tz=tz,
        now=now,
    )


def ingest_lab_result_records(
    session: Session,
    *,
    principal: Principal,
    records: Sequence[Sequence[str]],
    label: Callable[[int], str],
    source: str,
    tz: str = DEFAULT_TZ,
    now: datetime,
) -> ResultBatchReport:
    """Apply results another format was read into (tube_code, result, ct_value, lab,
    reported_at as text; `label(k)` names record k); any bad record refuses them all."""
    principal.require(Permission.submit_lab_results)
    header = Header({name: i for i, name in enumerate(results.RESULT_COLUMNS)}, 5)
    rows = [list(record) for record in records]
    return results.ingest(
        session,
        principal=principal,
        header=header,
        chunks=iter([(np.arange(len(rows), dtype=np.int64), rows)]),
        label=label,
        source=source,
        tz=tz,
        now=now,
    )


def ingest_lab_results_file(
    session: Session,
    *,
    load_valid: bool = False,
    rejects_path: Path | None = None,
    chunk_rows: int = results.CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    **file: Unpack[CsvFile],
) -> ResultBatchReport:
    """Apply results from CSV: whole file or nothing unless `load_valid`; idempotent."""
    file["principal"].require(Permission.submit_lab_results)
    header, chunks = read_chunks(
        file["stream"], size=chunk_rows, required=results.REQUIRED, optional=["ct_value"]
    )
    return results.ingest(
        session,
        header=header,
        chunks=chunks,
        load_valid=load_valid,
        rejects_path=rejects_path,
        progress=progress,
        **_by_line(file),
    )


def list_results(
    session: Session,
    *,
    principal: Principal,
    updated_since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ResultRecordRead]:
    """Results of record sampled in the caller's jurisdiction (a laboratory: all), in the order
    they were written; `updated_since`: only those written or replaced after it."""
    if principal.role is Role.viewer:
        raise PermissionDenied("a viewer does not see laboratory results")
    query = select(LabResult, Tube).join(Tube, Tube.id == LabResult.tube_id)
    if principal.district_id is not None and principal.role is not Role.lab:
        query = query.where(LabResult.district_id == principal.district_id)
    if updated_since is not None:
        query = query.where(LabResult.updated_at > updated_since)
    codes = areas_service.district_code_by_id(session)
    return [
        ResultRecordRead(
            id=result.id,
            tube_code=tube.code,
            district_code=codes[result.district_id],
            member_count=tube.member_count,
            outcome=result.outcome,
            ct_value=result.ct_value,
            lab=result.lab_code,
            reported_at=result.reported_at,
            collected_at=tube.collected_at,
            updated_at=result.updated_at,
        )
        for result, tube in session.execute(
            query.order_by(LabResult.id).limit(limit).offset(offset)
        )
    ]


# --- what other domains call -------------------------------------------------------------------


def pending_case_candidates(session: Session, *, limit: int = 10_000) -> list[CaseCandidateRead]:
    """Positive single tubes no case has been made of yet (oldest first)."""
    return need_queue.pending(
        session,
        CaseCandidate,
        read=CaseCandidateRead,
        done=CaseCandidate.consumed_at,
        still_open=[CaseCandidate.withdrawn_at.is_(None)],
        limit=limit,
    )


def mark_case_candidates_consumed(
    session: Session, *, candidate_ids: Sequence[int], now: datetime
) -> None:
    """Record that the cases domain has acted on these candidates."""
    need_queue.mark(
        session, CaseCandidate, ids=candidate_ids, done=CaseCandidate.consumed_at, now=now
    )


def pending_referral_needs(session: Session, *, limit: int = 10_000) -> list[ReferralNeedRead]:
    """Positives whose person lives in another district, not yet opened as referrals."""
    return need_queue.pending(
        session,
        ReferralNeed,
        read=ReferralNeedRead,
        done=ReferralNeed.opened_at,
        still_open=[ReferralNeed.withdrawn_at.is_(None)],
        limit=limit,
    )


def mark_referral_needs_opened(session: Session, *, need_ids: Sequence[int], now: datetime) -> None:
    """Record that the referrals domain has opened referrals for these needs."""
    need_queue.mark(session, ReferralNeed, ids=need_ids, done=ReferralNeed.opened_at, now=now)


def is_held(session: Session, *, person_id: int, at: datetime) -> bool:
    """Whether the person was held in place (a positive pool, pending retest) at `at`."""
    return held_at(session, checks=[(person_id, at)])[0]


def held_at(session: Session, *, checks: Sequence[tuple[int, datetime]]) -> list[bool]:
    """For each (person, instant): whether the person was held in place at that instant; one
    statement per `chunks` of persons however many are asked about."""
    spans: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    dialect = dialect_of(session)
    for part in chunks(sorted({p for p, _ in checks})):
        for person_id, held_from, released_at in session.execute(
            select(Hold.person_id, Hold.held_from, Hold.released_at).where(
                member_of(Hold.person_id, part, dialect=dialect)
            )
        ):
            spans[person_id].append((held_from, released_at))
    return [
        any(
            held_from <= at and (released_at is None or released_at > at)
            for held_from, released_at in spans.get(person_id, ())
        )
        for person_id, at in checks
    ]


def negative_screening_days(
    session: Session, *, building_ids: Collection[int], first_day: date, last_day: date
) -> dict[int, set[date]]:
    """Building → local days on which it was sampled and every result was negative.

    A building's tubes of a day are those holding a person who stays in it; the day counts when
    there is at least one and each has a negative result (none pending, invalid or positive).
    """
    found: dict[int, set[date]] = {b: set() for b in building_ids}
    if not building_ids or last_day < first_day:
        return found
    dialect = dialect_of(session)
    where: dict[int, int] = {}
    persons = people_service.person_keys()
    query = select(persons.c.id, persons.c.current_building_id)
    for part in chunks(sorted(building_ids)):
        for pid, building in session.execute(
            query.where(member_of(persons.c.current_building_id, part, dialect=dialect))
        ):
            if building is not None:
                where[pid] = building
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    tubes: dict[tuple[int, date], set[int]] = defaultdict(set)
    for part in chunks(sorted(where)):
        for day, pid, tube_id in session.execute(
            select(Membership.round_day, Membership.person_id, Membership.tube_id).where(
                Membership.round_day.in_(days),
                member_of(Membership.person_id, part, dialect=dialect),
            )
        ):
            tubes[where[pid], day].add(tube_id)
    outcome: dict[int, str] = {}
    all_tubes = sorted({t for ts in tubes.values() for t in ts})
    for part in chunks(all_tubes):
        outcome.update(
            session.execute(
                select(LabResult.tube_id, LabResult.outcome).where(
                    member_of(LabResult.tube_id, part, dialect=dialect)
                )
            ).all()
        )
    for (building, day), ids in tubes.items():
        if all(outcome.get(t) == "negative" for t in ids):
            found[building].add(day)
    return found


def buildings_negative_throughout(
    session: Session, *, building_ids: Collection[int], first_day: date, last_day: date
) -> set[int]:
    """The buildings of `building_ids` sampled, every result negative, on each day of the
    window: what a lifting asks of the screening, one building per row however many days."""
    if last_day < first_day:
        return set()
    window = (last_day - first_day).days + 1
    found = negative_screening_days(
        session, building_ids=building_ids, first_day=first_day, last_day=last_day
    )
    return {building for building, days in found.items() if len(days) == window}
