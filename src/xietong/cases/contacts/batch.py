"""Registering close contacts in sets, each with its quarantine order (a bed when one is free)
and, for a contact whose person another district must find, its referral need: the one place
these rules live, for one contact (`contacts.service.register_contact`) or thousands.

A batch is checked whole before anything is written (each bad row named `contact N`, 1-based,
with its field and reason); the state it depends on (cases, persons, existing contacts, running
orders, beds) is read a statement per table, and the rows are written in bulk. A national ID
the caller may not see is matched on its keyed hash behind the answer, as one at a time: the
contact keeps the caller's words, and an unknown person is registered where the caller says it
lives (one by one: the rare case).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases.contacts.needs import district_to_refer, raise_needs
from xietong.cases.models import Case, CloseContact
from xietong.cases.quarantine.issuing import OrderFor, issue_orders
from xietong.cases.registration import existing_cases
from xietong.cases.schemas import ContactCreate
from xietong.cases.service import visible_cases
from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.principal import SYSTEM, Permission, Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.people.service import Person
from xietong.storage.bulk_sql import chunks, dialect_of, insert_with_ids, member_of


@dataclass(frozen=True, kw_only=True)
class NewContact:
    """A contact about to be registered, its case, person and places resolved and checked."""

    case_id: int
    tracing_district_id: int
    person: Person | None
    # Matched to a person the caller may not see: the contact keeps the caller's words.
    reported: bool
    name: str | None
    phone: str | None
    residence_district_id: int
    residence_building_id: int | None
    exposure_kind: str
    exposure_building_id: int | None
    last_exposure_at: datetime | None
    starts_on: date


def insert_contacts(
    session: Session,
    *,
    rows: Sequence[NewContact],
    protector: PersonalDataProtector,
    registered_by: str,
    now: datetime,
) -> list[int]:
    """Write checked contacts, in order, with their orders and referral needs; their ids."""
    values = []
    for row in rows:
        keeps_words = row.person is None or row.reported
        values.append(
            (
                row.case_id,
                row.person.id if row.person is not None else None,
                protector.encrypt_optional(row.name) if keeps_words else None,
                protector.encrypt_optional(row.phone) if keeps_words else None,
                row.residence_district_id,
                row.residence_building_id,
                row.tracing_district_id,
                row.exposure_kind,
                row.exposure_building_id,
                row.last_exposure_at,
                registered_by,
                now,
                now if row.person is not None and not row.reported else None,
            )
        )
    ids = insert_with_ids(session, CloseContact, _CONTACT_COLUMNS, values)
    issue_orders(
        session,
        contacts=[
            OrderFor(
                contact_id=contact_id,
                person_id=row.person.id if row.person is not None else None,
                district_id=row.residence_district_id,
                starts_on=row.starts_on,
                whatever_runs=row.reported,
            )
            for contact_id, row in zip(ids, rows, strict=True)
        ],
        now=now,
    )
    needs = []
    for contact_id, row in zip(ids, rows, strict=True):
        to_district = district_to_refer(
            tracing_district_id=row.tracing_district_id,
            residence_district_id=row.residence_district_id,
            person=row.person,
            reported=row.reported,
        )
        if to_district is not None and row.person is not None:
            needs.append(
                (contact_id, row.person.id, row.case_id, row.tracing_district_id, to_district)
            )
    raise_needs(session, needs=needs, now=now)
    return ids


_CONTACT_COLUMNS = (
    "case_id",
    "person_id",
    "name_enc",
    "phone_enc",
    "residence_district_id",
    "residence_building_id",
    "tracing_district_id",
    "exposure_kind",
    "exposure_building_id",
    "last_exposure_at",
    "registered_by",
    "registered_at",
    "identified_at",
)


@dataclass(frozen=True)
class ContactOfCase:
    """One row of a batch: a contact of the case `case_id`."""

    case_id: int
    contact: ContactCreate


class _Known:
    """What the batch's checks read, once for the batch."""

    def __init__(
        self,
        session: Session,
        *,
        principal: Principal,
        protector: PersonalDataProtector,
        rows: Sequence[ContactOfCase],
        now: datetime,
    ) -> None:
        dialect = dialect_of(session)
        case_ids = sorted({r.case_id for r in rows})
        self.cases: dict[int, Case] = {}
        for part in chunks(case_ids):
            self.cases.update(
                (c.id, c)
                for c in session.scalars(
                    visible_cases(principal).where(member_of(Case.id, part, dialect=dialect))
                )
            )
        self.hashes = {
            r.contact.national_id: protector.hash_id(r.contact.national_id)
            for r in rows
            if r.contact.person_id is None and r.contact.national_id is not None
        }
        self.by_hash: dict[bytes, Person] = {}
        wanted = sorted(set(self.hashes.values()))
        for start in range(0, len(wanted), 5_000):
            self.by_hash.update(
                (p.id_hash, p)
                for p in session.scalars(
                    select(Person).where(Person.id_hash.in_(wanted[start : start + 5_000]))
                )
            )
        asked = {r.contact.person_id for r in rows if r.contact.person_id is not None}
        asked |= {p.id for p in self.by_hash.values()}
        self.visible: dict[int, Person] = {}
        query = people_service.visible_persons(principal, at=now)
        for part in chunks(sorted(asked)):
            self.visible.update(
                (p.id, p)
                for p in session.scalars(query.where(member_of(Person.id, part, dialect=dialect)))
            )
        self.case_of = existing_cases(session, person_ids=sorted(asked))
        self.contacts: set[tuple[int, int]] = set()
        for part in chunks(sorted(asked)):
            self.contacts.update(
                (case_id, person_id)
                for case_id, person_id in session.execute(
                    select(CloseContact.case_id, CloseContact.person_id).where(
                        member_of(CloseContact.person_id, part, dialect=dialect)
                    )
                )
                if person_id is not None
            )
        # Unknown national IDs of earlier rows, each registered once with its first contact.
        self.new_ids: set[tuple[int, str]] = set()
        self.name_only = registered_name_only(
            session, protector=protector, case_ids=sorted(self.cases)
        )
        codes = [r.contact.residence_building_code for r in rows]
        codes += [r.contact.exposure_building_code for r in rows]
        self.buildings = areas_service.buildings_by_code(session, codes=codes)
        self.districts = areas_service.district_id_by_code(session)


def register_contacts(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    contacts: Sequence[ContactOfCase],
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> list[CloseContact]:
    """Register close contacts of cases with their orders and referral needs, all or none."""
    checked = check_contacts(
        session, principal=principal, protector=protector, contacts=contacts, now=now, tz=tz
    )
    errors = [e for row in checked if isinstance(row, list) for e in row]
    if errors:
        raise ValidationFailed(errors=errors, summary="contacts refused")
    return write_contacts(
        session,
        principal=principal,
        protector=protector,
        rows=[row for row in checked if isinstance(row, CheckedContact)],
        now=now,
    )


@dataclass(frozen=True)
class CheckedContact:
    """A row of a batch that passed its checks, ready for `write_contacts`."""

    contact: NewContact
    # A national ID nobody has yet: the person registered with the contact.
    to_create: PersonCreate | None


def check_contacts(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    contacts: Sequence[ContactOfCase],
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> list[CheckedContact | list[RowError]]:
    """Check close contacts as one batch, reading what the rules need once: for each, in order,
    the contact ready to write or its problems (`contact N`, 1-based, with field and reason).
    A row is checked against the rows before it as if they were registered already."""
    principal.require(Permission.write_persons)
    known = _Known(session, principal=principal, protector=protector, rows=contacts, now=now)
    checked: list[CheckedContact | list[RowError]] = []
    for n, row in enumerate(contacts, start=1):
        record = f"contact {n}"
        problems, new, to_create = _resolve(record, row, known=known, now=now, tz=tz)
        if problems or new is None:
            checked.append(problems)
            continue
        checked.append(CheckedContact(new, to_create))
        if new.person is not None:
            known.contacts.add((new.case_id, new.person.id))
        elif to_create is not None:
            known.new_ids.add((new.case_id, to_create.national_id))
        else:
            known.name_only.add(
                name_only_identity(
                    new.case_id,
                    new.name,
                    new.phone,
                    (new.residence_building_id, new.residence_district_id),
                )
            )
    return checked


def write_contacts(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    rows: Sequence[CheckedContact],
    now: datetime,
) -> list[CloseContact]:
    """Write contacts checked by `check_contacts` with their orders and referral needs."""
    ready = []
    created: dict[str, Person] = {}
    for checked in rows:
        new, to_create = checked.contact, checked.to_create
        if to_create is not None:
            # The first row naming an unknown ID registers the person; later ones find it.
            person = created.get(to_create.national_id)
            if person is None:
                person = created[to_create.national_id] = _new_person(
                    session, protector=protector, case_id=new.case_id, person_in=to_create
                )
            new = NewContact(**{**new.__dict__, "person": person})
        ready.append(new)
    people_service.audit_persons(
        session,
        principal=principal,
        action="read",
        ids=sorted({r.person.id for r in ready if r.person is not None and not r.reported}),
        reason="close contacts of cases",
    )
    ids = insert_contacts(
        session, rows=ready, protector=protector, registered_by=principal.username, now=now
    )
    auth_service.record_audit(
        session, principal=principal, action="create", entity="contact", entity_ids=ids
    )
    loaded: dict[int, CloseContact] = {}
    dialect = dialect_of(session)
    for part in chunks(ids):
        loaded.update(
            (c.id, c)
            for c in session.scalars(
                select(CloseContact).where(member_of(CloseContact.id, part, dialect=dialect))
            )
        )
    return [loaded[i] for i in ids]


def _resolve(
    record: str, row: ContactOfCase, *, known: _Known, now: datetime, tz: str
) -> tuple[list[RowError], NewContact | None, PersonCreate | None]:
    contact = row.contact
    problems: list[RowError] = []
    case = known.cases.get(row.case_id)
    if case is None:
        problems.append(
            RowError(record, "case_id", "no such case in your jurisdiction", str(row.case_id))
        )
    person: Person | None = None
    reported = False
    to_create: PersonCreate | None = None
    if contact.person_id is not None:
        person = known.visible.get(contact.person_id)
        if person is None:
            problems.append(
                RowError(
                    record,
                    "person_id",
                    "no such person in your jurisdiction",
                    str(contact.person_id),
                )
            )
    elif contact.national_id is not None:
        matched = known.by_hash.get(known.hashes[contact.national_id])
        if matched is not None and matched.id in known.visible:
            person = matched
        else:
            # Not the caller's to see (or nobody yet): the same answer whatever the ID is.
            reported = True
            if not contact.name:
                problems.append(RowError(record, "name", "a contact by national ID needs a name"))
            if not (contact.residence_building_code or contact.residence_district_code):
                problems.append(
                    RowError(record, "residence", "a contact by national ID needs a residence")
                )
            person = matched
            if matched is None:
                to_create = PersonCreate(
                    national_id=contact.national_id,
                    name=contact.name or "",
                    phone=contact.phone,
                    residence_building_code=contact.residence_building_code,
                    residence_district_code=contact.residence_district_code,
                )
    if person is not None and not reported and case is not None:
        if person.id == case.person_id:
            problems.append(RowError(record, "person", "the case itself"))
        elif person.id in known.case_of:
            problems.append(RowError(record, "person", "the contact is already a case"))
        elif (case.id, person.id) in known.contacts:
            problems.append(
                RowError(record, "person", "the person is already a contact of this case")
            )
    again = case is not None and (
        (person is not None and (case.id, person.id) in known.contacts)
        or (to_create is not None and (case.id, to_create.national_id) in known.new_ids)
    )
    if reported and again:
        # The caller's own list again (what else it may learn is its case's contact list).
        problems.append(
            RowError(
                record,
                "national_id",
                "a contact of this case with this national ID is registered already",
            )
        )
    residence: tuple[int | None, int] | None = None
    if person is not None and not reported:
        residence = (person.residence_building_id, person.residence_district_id)
    else:
        residence = _residence(record, contact, known=known, problems=problems)
    if (
        person is None
        and to_create is None
        and case is not None
        and residence is not None
        and name_only_identity(case.id, contact.name, contact.phone, residence) in known.name_only
    ):
        problems.append(
            RowError(
                record,
                "name",
                "a contact of this case with this name, phone and residence is registered already",
            )
        )
    exposure_id = None
    if contact.exposure_building_code:
        exposure = known.buildings.get(contact.exposure_building_code)
        if exposure is None:
            problems.append(
                RowError(
                    record,
                    "exposure_building_code",
                    "unknown building",
                    contact.exposure_building_code,
                )
            )
        else:
            exposure_id = exposure.id
    if problems or case is None or residence is None:
        return problems, None, None
    return (
        [],
        NewContact(
            case_id=case.id,
            tracing_district_id=case.report_district_id,
            person=person,
            reported=reported,
            name=contact.name,
            phone=contact.phone,
            residence_building_id=residence[0],
            residence_district_id=residence[1],
            exposure_kind=contact.exposure_kind,
            exposure_building_id=exposure_id,
            last_exposure_at=contact.last_exposure_at,
            starts_on=contact.quarantine_starts_on or local_day(now, tz),
        ),
        to_create,
    )


NameOnlyIdentity = tuple[int, str, str, int, int | None]


def name_only_identity(
    case_id: int, name: str | None, phone: str | None, residence: tuple[int | None, int]
) -> NameOnlyIdentity:
    """What makes a contact known only by its name the same contact again: the same case, name,
    phone (none counts as one) and residence (building, or district when no building is given),
    spaces aside. A list loaded again must not register it twice."""

    def words(text: str | None) -> str:
        return " ".join((text or "").split())

    return (case_id, words(name), words(phone), residence[1], residence[0])


def registered_name_only(
    session: Session, *, protector: PersonalDataProtector, case_ids: Sequence[int]
) -> set[NameOnlyIdentity]:
    """The identities of the contacts of `case_ids` still known only by their name."""
    found: set[NameOnlyIdentity] = set()
    dialect = dialect_of(session)
    for part in chunks(list(case_ids)):
        for row in session.execute(
            select(
                CloseContact.case_id,
                CloseContact.name_enc,
                CloseContact.phone_enc,
                CloseContact.residence_building_id,
                CloseContact.residence_district_id,
            ).where(
                member_of(CloseContact.case_id, part, dialect=dialect),
                CloseContact.person_id.is_(None),
            )
        ):
            found.add(
                name_only_identity(
                    row.case_id,
                    protector.decrypt_optional(row.name_enc),
                    protector.decrypt_optional(row.phone_enc),
                    (row.residence_building_id, row.residence_district_id),
                )
            )
    return found


def _residence(
    record: str, contact: ContactCreate, *, known: _Known, problems: list[RowError]
) -> tuple[int | None, int] | None:
    if contact.residence_building_code:
        building = known.buildings.get(contact.residence_building_code)
        if building is None:
            problems.append(
                RowError(
                    record,
                    "residence_building_code",
                    "unknown building",
                    contact.residence_building_code,
                )
            )
            return None
        return building.id, building.district_id
    code = contact.residence_district_code
    if code is None:
        return None
    if code not in known.districts:
        problems.append(RowError(record, "residence_district_code", "unknown district", code))
        return None
    return None, known.districts[code]


def _new_person(
    session: Session, *, protector: PersonalDataProtector, case_id: int, person_in: PersonCreate
) -> Person:
    return people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=person_in,
        reason=f"close contact of case {case_id}",
    )
