"""Persons: creation, scoped and audited reads, and the streaming CSV import.

Every read of a person goes through `visible_persons` so that a district user never sees a person
outside the district's jurisdiction (404, not 403: the record's existence is not disclosed), and
every read or change writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, Subquery, exists, func, or_, select, text
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.csvfiles import RejectsWriter, read_records
from xietong.core.errors import Conflict, NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.parallel import default_workers, ordered_map
from xietong.core.principal import Permission, Principal
from xietong.people import identity, rows
from xietong.people.grants import grant_access as grant_access
from xietong.people.grants import grant_access_many as grant_access_many

# `Person` is the record type this service returns: other domains name it from here.
from xietong.people.models import Person as Person
from xietong.people.models import PersonAccessGrant
from xietong.people.protection import PersonalDataProtector
from xietong.people.rows import NewPerson as NewPerson
from xietong.people.schemas import (
    PersonCreate,
    PersonImportReport,
    PersonRead,
    PersonShown,
    PersonSummary,
)
from xietong.storage.bulk import bulk_insert
from xietong.storage.paging import paged
from xietong.storage.unit_of_work import clock_of

# Ids per IN list: well under every backend's limit on bound parameters.
_IN_CHUNK = 5_000


def visibility_clause(principal: Principal, *, at: datetime) -> ColumnElement[bool] | None:
    """The condition under which `principal` may see a person at `at`; None: everyone (city)."""
    if principal.district_id is None:
        return None
    district = principal.district_id
    granted = exists().where(
        PersonAccessGrant.person_id == Person.id,
        PersonAccessGrant.district_id == district,
        or_(PersonAccessGrant.expires_at.is_(None), PersonAccessGrant.expires_at > at),
    )
    return or_(
        Person.residence_district_id == district, Person.current_district_id == district, granted
    )


def visible_persons(
    principal: Principal, *, at: datetime, with_merged: bool = False
) -> Select[Person]:
    """The one query every read of persons by a user starts from (merged persons only if asked:
    a read by id or ID number still finds them, no list does)."""
    query = select(Person) if with_merged else select(Person).where(Person.merged_into_id.is_(None))
    clause = visibility_clause(principal, at=at)
    return query if clause is None else query.where(clause)


def person_keys() -> Subquery:
    """Every person's id, keyed ID hash and places (district and building of residence and of
    stay), and no personal data: what other domains join on in their set-based work. The
    system's own reads; a user's read starts from `visible_persons`."""
    return (
        select(
            Person.id,
            Person.id_hash,
            Person.residence_district_id,
            Person.residence_building_id,
            Person.current_district_id,
            Person.current_building_id,
        )
        .where(Person.merged_into_id.is_(None))
        .subquery("person_keys")
    )


def persons_by_id(session: Session, *, ids: Collection[int]) -> dict[int, Person]:
    """The persons of `ids` that exist, for the system's own work (the caller audits the read)."""
    found: dict[int, Person] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _IN_CHUNK):
        part = wanted[start : start + _IN_CHUNK]
        found.update((p.id, p) for p in session.scalars(select(Person).where(Person.id.in_(part))))
    return found


def residents(
    session: Session,
    *,
    principal: Principal,
    building_id: int,
    limit: int,
    offset: int,
) -> tuple[list[Person], int]:
    """A page of the persons living in a building that `principal` may see, and their count."""
    principal.require(Permission.read_persons)
    query = visible_persons(principal, at=clock_of(session).now()).where(
        Person.residence_building_id == building_id
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(Person.id).limit(limit).offset(offset))), total


def _resolve_places(
    session: Session, person_in: PersonCreate
) -> tuple[int | None, int, int | None, int]:
    ids = areas_service.district_id_by_code(session)
    residence_building = current_building = None
    if person_in.residence_building_code:
        building = areas_service.get_building(session, code=person_in.residence_building_code)
        residence_building, residence_district = building.id, building.district_id
    elif person_in.residence_district_code:
        if person_in.residence_district_code not in ids:
            raise NotFound("unknown residence district", code="district_not_found")
        residence_district = ids[person_in.residence_district_code]
    else:
        raise ValidationFailed(
            errors=[RowError("person", "residence", "a residence building or district is needed")]
        )
    current_district = residence_district
    if person_in.current_building_code:
        building = areas_service.get_building(session, code=person_in.current_building_code)
        current_building, current_district = building.id, building.district_id
    elif person_in.current_district_code:
        if person_in.current_district_code not in ids:
            raise NotFound("unknown current district", code="district_not_found")
        current_district = ids[person_in.current_district_code]
    elif person_in.residence_building_code:
        current_building = residence_building
    return residence_building, residence_district, current_building, current_district


def create_person(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    person_in: PersonCreate,
    reason: str | None = None,
) -> Person:
    """Register a person; the same national ID twice is a conflict naming the existing record."""
    principal.require(Permission.write_persons)
    try:
        national_id = identity.parse(person_in.national_id)
    except identity.InvalidNationalId as exc:
        raise ValidationFailed(errors=[RowError("person", "national_id", str(exc))]) from None
    residence_building, residence_district, current_building, current_district = _resolve_places(
        session, person_in
    )
    if principal.district_id is not None and principal.district_id not in (
        residence_district,
        current_district,
    ):
        raise PermissionDenied("the person neither lives nor stays in your district")
    id_hash = protector.hash_id(national_id.number)
    existing = session.scalar(select(Person.id).where(Person.id_hash == id_hash))
    now = clock_of(session).now()
    if existing is not None:
        # The record is named only to a caller who may see it; otherwise nothing about it (its
        # district, whether it is a case) is told.
        visible = session.scalar(
            visible_persons(principal, at=now)
            .with_only_columns(Person.id)
            .where(Person.id == existing)
        )
        raise Conflict(
            "a person with this national ID exists",
            code="person_exists",
            details={"person_id": existing} if visible is not None else None,
        )
    person = Person(
        id_hash=id_hash,
        id_masked=national_id.masked,
        name_enc=protector.encrypt(person_in.name),
        phone_enc=protector.encrypt_optional(person_in.phone),
        name_hash=protector.hash_name(person_in.name),
        phone_hash=protector.hash_phone(person_in.phone),
        phone_tail_hash=protector.hash_phone_tail(person_in.phone),
        birth_date=national_id.birth_date,
        sex=national_id.sex,
        residence_building_id=residence_building,
        residence_district_id=residence_district,
        current_building_id=current_building,
        current_district_id=current_district,
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    session.flush()
    audit_persons(session, principal=principal, action="create", ids=[person.id], reason=reason)
    return person


def audit_persons(
    session: Session,
    *,
    principal: Principal,
    action: str,
    ids: Sequence[int | str],
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that the principal did `action` to these persons (one audit row each; "*" for a
    whole file), in the caller's transaction."""
    auth_service.record_audit(
        session,
        principal=principal,
        action=action,
        entity="person",
        entity_ids=ids,
        reason=reason,
        detail=detail,
    )


def _audited_page(
    session: Session,
    principal: Principal,
    query: Select[Person],
    *,
    limit: int,
    offset: int,
    reason: str | None = None,
) -> tuple[list[Person], int]:
    """A page of the persons `query` selects, by id, and their count; each one listed is
    audited as read."""
    persons, total = paged(session, query, order_by=[Person.id], limit=limit, offset=offset)
    audit_persons(
        session, principal=principal, action="list", ids=[p.id for p in persons], reason=reason
    )
    return persons, total


def summaries(session: Session, persons: Sequence[Person]) -> list[PersonSummary]:
    codes = areas_service.district_code_by_id(session)
    return [
        PersonSummary(
            id=p.id,
            id_masked=p.id_masked,
            residence_district_code=codes[p.residence_district_id],
            current_district_code=codes[p.current_district_id],
        )
        for p in persons
    ]


def _building_codes(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    return {i: b.code for i, b in areas_service.buildings_by_id(session, ids=ids).items()}


def registration_warnings(
    session: Session, *, person_in: PersonCreate, person: Person
) -> list[str]:
    """What is worth a look in a person just registered (accepted all the same)."""
    warning = rows.region_warning(
        identity.parse(person_in.national_id),
        residence_district_id=person.residence_district_id,
        district_ids=areas_service.district_id_by_code(session),
    )
    return [] if warning is None else [str(warning)]


def shown(person: Person, protector: PersonalDataProtector) -> PersonShown:
    """Who the person is, name and phone decrypted (the caller audits the read)."""
    return PersonShown(
        id=person.id,
        id_masked=person.id_masked,
        name=protector.decrypt(person.name_enc),
        phone=protector.decrypt_optional(person.phone_enc),
        birth_date=person.birth_date,
        sex=person.sex,
    )


def to_read(session: Session, person: Person, protector: PersonalDataProtector) -> PersonRead:
    codes = areas_service.district_code_by_id(session)
    buildings = _building_codes(session, [person.residence_building_id, person.current_building_id])
    return PersonRead(
        **dict(shown(person, protector)),
        residence_district_code=codes[person.residence_district_id],
        residence_building_code=buildings.get(person.residence_building_id or -1),
        current_district_code=codes[person.current_district_id],
        current_building_code=buildings.get(person.current_building_id or -1),
        created_at=person.created_at,
        merged_into=person.merged_into_id,
    )


def get_person(
    session: Session, *, principal: Principal, person_id: int, reason: str | None = None
) -> Person:
    """Read one person within the principal's jurisdiction; the read is audited."""
    return _read_one(
        session, principal, Person.id == person_id, f"no person {person_id}", reason=reason
    )


def find_by_national_id(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    national_id: str,
    reason: str | None = None,
) -> Person:
    """Look a person up by national ID through its keyed hash (audited)."""
    matches = Person.id_hash == protector.hash_id(national_id)
    missing = "no such person in your jurisdiction"
    return _read_one(session, principal, matches, missing, reason=reason)


def _read_one(
    session: Session,
    principal: Principal,
    condition: ColumnElement[bool],
    missing: str,
    *,
    reason: str | None,
) -> Person:
    """The one visible person meeting `condition` (NotFound otherwise); the read is audited."""
    principal.require(Permission.read_persons)
    query = visible_persons(principal, at=clock_of(session).now(), with_merged=True)
    person = session.scalar(query.where(condition))
    if person is None:
        raise NotFound(missing, code="person_not_found")
    audit_persons(session, principal=principal, action="read", ids=[person.id], reason=reason)
    return person


def list_persons(
    session: Session,
    *,
    principal: Principal,
    district_code: str | None = None,
    updated_since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PersonSummary], int]:
    """A page of persons (masked ID and places only); each listed record's read is audited."""
    principal.require(Permission.read_persons)
    query = visible_persons(principal, at=clock_of(session).now())
    if district_code is not None:
        district = areas_service.get_district(session, code=district_code)
        query = query.where(Person.residence_district_id == district.id)
    if updated_since is not None:
        query = query.where(Person.updated_at > updated_since)
    persons, total = _audited_page(session, principal, query, limit=limit, offset=offset)
    return summaries(session, persons), total


PERSON_COLUMNS = ["national_id", "name", "phone", "residence_building", "current_building"]


def import_persons(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    stream: TextIO,
    source_name: str = "upload",
    load_valid: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> PersonImportReport:
    """Stream persons from CSV into the table in one transaction.

    The file is loaded whole or not at all: any bad row refuses it, listing every bad row with its
    line and field, unless `load_valid` is set, in which case valid rows load and rejects go to
    `rejects_path`. Rows whose national ID is already known are skipped (idempotent re-import).
    Validation, hashing and encryption run on `workers` processes (one per core by default)
    while this one loads what they return.
    """
    principal.require(Permission.import_persons)
    context = rows.RowContext(
        protector=protector,
        now=clock_of(session).now(),
        district_id=principal.district_id,
        buildings=areas_service.building_index(session),
        district_ids=areas_service.district_id_by_code(session),
    )
    tally = _ImportTally(
        rejects=RejectsWriter(rejects_path, PERSON_COLUMNS) if rejects_path else None,
        progress=progress,
    )
    records = read_records(
        stream,
        required=["national_id", "name", "residence_building"],
        optional=["phone", "current_building"],
    )
    chunks = ordered_map(
        rows.record_rows,
        rows.in_chunks(records),
        workers=default_workers() if workers is None else workers,
        initializer=rows.use_context,
        initargs=(context,),
    )
    try:
        inserted = bulk_insert(
            session,
            Person.__table__,  # type: ignore[arg-type]
            rows.TABLE_COLUMNS,
            (row for chunk in chunks for row in tally.take(chunk)),
            skip_conflicts_on=["id_hash"],
        )
    finally:
        if tally.rejects is not None:
            tally.rejects.close()
    if tally.errors and not load_valid:
        raise ValidationFailed(
            errors=tally.errors, summary=f"{source_name} refused; nothing was written"
        )
    audit_persons(
        session,
        principal=principal,
        action="import",
        ids=["*"],
        detail={
            "source": source_name,
            "inserted": inserted,
            "rows_read": tally.rows_read,
            "rejected": tally.rejected_lines,
        },
    )
    return tally.report(inserted=inserted)


@dataclass
class _ImportTally:
    """What an import has read so far: the counts, every bad row (also written to the rejects
    file, if any), the first warnings; progress is told every 50,000 rows."""

    rejects: RejectsWriter | None
    progress: Callable[[int], None] | None
    rows_read: int = 0
    rows_valid: int = 0
    rejected_lines: int = 0
    rows_warned: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def take(self, chunk: rows.ChunkRows) -> list[rows.Row]:
        """Count a checked chunk and keep its bad rows; its valid rows, to load."""
        before = self.rows_read
        self.rows_read += chunk.records
        if self.progress is not None and before // 50_000 != self.rows_read // 50_000:
            self.progress(self.rows_read)
        for line, record, row_errors in chunk.rejected:
            self.errors.extend(row_errors)
            if self.rejects is not None:
                self.rejects.write(line, record, row_errors)
        self.rejected_lines += len(chunk.rejected)
        self.rows_valid += len(chunk.rows)
        self.rows_warned += chunk.warned
        self.warnings.extend(chunk.warnings[: rows.MAX_WARNINGS - len(self.warnings)])
        return chunk.rows

    def report(self, *, inserted: int) -> PersonImportReport:
        return PersonImportReport(
            rows_read=self.rows_read,
            rows_valid=self.rows_valid,
            rows_rejected=self.rejected_lines,
            inserted=inserted,
            already_present=self.rows_valid - inserted,
            rejects_file=str(self.rejects.path) if self.rejects and self.rejects.count else None,
            rows_warned=self.rows_warned,
            warnings=[str(w) for w in self.warnings],
        )


def register_many(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    persons: Iterable[NewPerson],
    source_name: str,
    first_id: int | None = None,
    workers: int | None = None,
) -> int:
    """Register persons in bulk (skipping known IDs); return how many were new.

    For trusted producers that already hold valid building ids (the synthetic city, a registry
    feed): numbers are still validated, and one audit row names the source and the count. With
    `first_id`, the persons get the ids first_id, first_id + 1, … in order, so that a producer
    can address them without reading them back. Hashing and encryption run on `workers`
    processes (one per core by default).
    """
    principal.require(Permission.import_persons)
    context = rows.RowContext(protector=protector, now=clock_of(session).now())

    def numbered() -> Iterator[tuple[int | None, list[NewPerson]]]:
        start = first_id
        for chunk in rows.in_chunks(persons):
            yield start, chunk
            if start is not None:
                start += len(chunk)

    protected = ordered_map(
        rows.new_person_rows,
        numbered(),
        workers=default_workers() if workers is None else workers,
        initializer=rows.use_context,
        initargs=(context,),
    )
    columns = rows.TABLE_COLUMNS if first_id is None else ["id", *rows.TABLE_COLUMNS]
    inserted = bulk_insert(
        session,
        Person.__table__,  # type: ignore[arg-type]
        columns,
        (row for chunk in protected for row in chunk),
        skip_conflicts_on=["id_hash"],
    )
    if first_id is not None and session.get_bind().dialect.name == "postgresql":
        # Explicit ids bypass the sequence: move it past them so later inserts do not collide.
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('people_person', 'id'), "
                "(SELECT max(id) FROM people_person))"
            )
        )
    audit_persons(
        session,
        principal=principal,
        action="import",
        ids=["*"],
        detail={"source": source_name, "inserted": inserted},
    )
    return inserted


def next_person_id(session: Session) -> int:
    """The id after the highest in use (for producers that assign ids in bulk)."""
    return int(session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0) + 1


def persons_staying_in(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    building_id: int,
    excluding: Select[Any],
    at: datetime,
    reason: str,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PersonRead], int]:
    """The persons the principal may see who stay in a building, less the ids `excluding`
    selects (e.g. those sampled in a round); each one listed is audited with `reason`."""
    principal.require(Permission.read_persons)
    query = visible_persons(principal, at=at).where(
        Person.current_building_id == building_id, Person.id.not_in(excluding)
    )
    persons, total = _audited_page(
        session, principal, query, limit=limit, offset=offset, reason=reason
    )
    return [to_read(session, p, protector) for p in persons], total
