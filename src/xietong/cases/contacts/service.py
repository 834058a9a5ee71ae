"""Close contacts and their quarantine: registering contacts of a case (known persons, new persons,
or a name and phone until identified), the quarantine order each gets from the policy with a bed
in a facility of the contact's district, releases, and the referral need raised when a contact
lives in another district.

A contact's person is matched on the keyed hash of the national ID, whatever district it lives
in, so that no duplicate person is made; the tracing district is then granted access to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases.clusters.service import chunks
from xietong.cases.contacts.batch import (
    NewContact,
    insert_contacts,
    name_only_identity,
    registered_name_only,
)
from xietong.cases.contacts.needs import refer_if_elsewhere, refer_person
from xietong.cases.models import Case, ContactReferralNeed, QuarantineOrder

# `CloseContact` is the record type this service returns: the flows name it from here.
from xietong.cases.models import CloseContact as CloseContact
from xietong.cases.quarantine.service import order_reads
from xietong.cases.schemas import (
    ContactCreate,
    ContactIdentify,
    ContactRead,
)
from xietong.cases.service import get_case, visible_cases
from xietong.core.clock import DEFAULT_TZ, day_bounds_utc, local_day
from xietong.core.errors import Conflict, NotFound, RowError, ValidationFailed
from xietong.core.principal import SYSTEM, Permission, Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.people.service import Person

# --- persons of contacts ---------------------------------------------------------------------


def _resolve_person(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    case: Case,
    person_id: int | None,
    national_id: str | None,
) -> Person | None:
    """The contact's person when the caller may see it (by id or national ID), else None."""
    reason = f"close contact of case {case.id}"
    if person_id is not None:
        return people_service.get_person(
            session, principal=principal, person_id=person_id, reason=reason
        )
    assert national_id is not None
    try:
        return people_service.find_by_national_id(
            session,
            principal=principal,
            protector=protector,
            national_id=national_id,
            reason=reason,
        )
    except NotFound:
        return None


def _report_unseen_person(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    case: Case,
    national_id: str,
    name: str | None,
    phone: str | None,
    residence_building_code: str | None,
    residence_district_code: str | None,
) -> tuple[Person, int | None, int]:
    """A national ID the caller may not see: another district's person, a case, or nobody yet.

    The caller learns nothing and is granted nothing: whatever the ID is, it must give a name
    and a residence (the same refusal otherwise), and the contact keeps what the caller gave.
    Behind the answer the ID is matched on its keyed hash (an unknown person is registered where
    the caller says it lives); the person's responsible district gets the referral need.
    Returns the person and the residence (building, district) the caller gave.
    """
    problems = []
    if not name:
        problems.append(RowError("contact", "name", "a contact by national ID needs a name"))
    if not (residence_building_code or residence_district_code):
        problems.append(
            RowError("contact", "residence", "a contact by national ID needs a residence")
        )
    if problems:
        raise ValidationFailed(errors=problems)
    assert name is not None
    building_id, district_id = _residence(session, residence_building_code, residence_district_code)
    reason = f"close contact of case {case.id}, registered by {principal.username}"
    try:
        person = people_service.find_by_national_id(
            session, principal=SYSTEM, protector=protector, national_id=national_id, reason=reason
        )
    except NotFound:
        person = people_service.create_person(
            session,
            principal=SYSTEM,
            protector=protector,
            person_in=PersonCreate(
                national_id=national_id,
                name=name,
                phone=phone,
                residence_building_code=residence_building_code,
                residence_district_code=residence_district_code,
            ),
            reason=reason,
        )
    return person, building_id, district_id


def _check_new_contact(session: Session, *, case: Case, person: Person) -> None:
    if person.id == case.person_id:
        raise ValidationFailed(errors=[RowError("contact", "person", "the case itself")])
    if session.scalar(select(Case.id).where(Case.person_id == person.id)) is not None:
        raise Conflict("the contact is already a case", code="contact_is_case")
    duplicate = _contact_of(session, case=case, person=person)
    if duplicate is not None:
        raise Conflict(
            "the person is already a contact of this case",
            code="contact_exists",
            details={"contact_id": duplicate},
        )


def _contact_of(session: Session, *, case: Case, person: Person) -> int | None:
    return session.scalar(
        select(CloseContact.id).where(
            CloseContact.case_id == case.id, CloseContact.person_id == person.id
        )
    )


def _check_reported_again(session: Session, *, case: Case, person: Person) -> None:
    """A national ID reported again for the same case (the caller's own list, loaded twice)."""
    if _contact_of(session, case=case, person=person) is not None:
        raise Conflict(
            "a contact of this case with this national ID is registered already",
            code="contact_exists",
        )


# --- registering and identifying contacts ----------------------------------------------------


def register_contact(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    case_id: int,
    contact_in: ContactCreate,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> CloseContact:
    """Register a close contact of a case, issue its quarantine order and, when it lives in
    another district, the referral need for that district."""
    principal.require(Permission.write_persons)
    case = get_case(session, principal=principal, case_id=case_id, audit=False)
    person = None
    reported = False
    if contact_in.person_id is not None or contact_in.national_id is not None:
        person = _resolve_person(
            session,
            principal=principal,
            protector=protector,
            case=case,
            person_id=contact_in.person_id,
            national_id=contact_in.national_id,
        )
    if person is not None:
        _check_new_contact(session, case=case, person=person)
        residence_district_id = person.residence_district_id
        residence_building_id = person.residence_building_id
    elif contact_in.national_id is not None:
        reported = True
        person, residence_building_id, residence_district_id = _report_unseen_person(
            session,
            principal=principal,
            protector=protector,
            case=case,
            national_id=contact_in.national_id,
            name=contact_in.name,
            phone=contact_in.phone,
            residence_building_code=contact_in.residence_building_code,
            residence_district_code=contact_in.residence_district_code,
        )
        _check_reported_again(session, case=case, person=person)
    else:
        residence_building_id, residence_district_id = _residence(
            session, contact_in.residence_building_code, contact_in.residence_district_code
        )
        identity = name_only_identity(
            case.id,
            contact_in.name,
            contact_in.phone,
            (residence_building_id, residence_district_id),
        )
        if identity in registered_name_only(session, protector=protector, case_ids=[case.id]):
            raise Conflict(
                "a contact of this case with this name, phone and residence is registered already",
                code="contact_exists",
            )
    exposure_building_id = None
    if contact_in.exposure_building_code:
        exposure_building_id = areas_service.get_building(
            session, code=contact_in.exposure_building_code
        ).id
    # A reported contact keeps the caller's own words (name, phone, residence) next to the
    # person it was matched to, and is shown to the caller as it reported it.
    [contact_id] = insert_contacts(
        session,
        rows=[
            NewContact(
                case_id=case.id,
                tracing_district_id=case.report_district_id,
                person=person,
                reported=reported,
                name=contact_in.name,
                phone=contact_in.phone,
                residence_district_id=residence_district_id,
                residence_building_id=residence_building_id,
                exposure_kind=contact_in.exposure_kind,
                exposure_building_id=exposure_building_id,
                last_exposure_at=contact_in.last_exposure_at,
                starts_on=contact_in.quarantine_starts_on or local_day(now, tz),
            )
        ],
        protector=protector,
        registered_by=principal.username,
        now=now,
    )
    contact = session.get_one(CloseContact, contact_id)
    auth_service.record_audit(
        session,
        principal=principal,
        action="create",
        entity="contact",
        entity_ids=[contact.id],
        detail={"case_id": case.id, "person_id": contact.person_id},
    )
    return contact


def _residence(
    session: Session, building_code: str | None, district_code: str | None
) -> tuple[int | None, int]:
    if building_code:
        building = areas_service.get_building(session, code=building_code)
        return building.id, building.district_id
    assert district_code is not None
    return None, areas_service.get_district(session, code=district_code).id


def identify_contact(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    contact_id: int,
    identify_in: ContactIdentify,
    now: datetime,
) -> CloseContact:
    """Attach a contact known by name and phone to its person (registering it when new)."""
    principal.require(Permission.write_persons)
    contact = get_contact(session, principal=principal, contact_id=contact_id)
    if contact.identified_at is not None:
        raise Conflict("the contact is already identified", code="contact_identified")
    case = session.get_one(Case, contact.case_id)
    building_code = identify_in.residence_building_code
    district_code = identify_in.residence_district_code
    if building_code is None and district_code is None:
        if contact.residence_building_id is not None:
            building_code = areas_service.buildings_by_id(
                session, ids=[contact.residence_building_id]
            )[contact.residence_building_id].code
        else:
            district_code = areas_service.district_code_by_id(session)[
                contact.residence_district_id
            ]
    name = identify_in.name or protector.decrypt_optional(contact.name_enc)
    phone = identify_in.phone or protector.decrypt_optional(contact.phone_enc)
    person = _resolve_person(
        session,
        principal=principal,
        protector=protector,
        case=case,
        person_id=None,
        national_id=identify_in.national_id,
    )
    if person is None:
        # Not the caller's to see: the contact stays as reported, and the person's district
        # is asked to find it (the same answer whoever the ID belongs to).
        person, building_id, district_id = _report_unseen_person(
            session,
            principal=principal,
            protector=protector,
            case=case,
            national_id=identify_in.national_id,
            name=name,
            phone=phone,
            residence_building_code=building_code,
            residence_district_code=district_code,
        )
        contact.person_id = person.id
        contact.name_enc = protector.encrypt_optional(name)
        contact.phone_enc = protector.encrypt_optional(phone)
        contact.residence_building_id, contact.residence_district_id = building_id, district_id
        session.flush()
        refer_person(session, contact=contact, person=person, now=now)
    else:
        _check_new_contact(session, case=case, person=person)
        contact.person_id = person.id
        contact.name_enc = contact.phone_enc = None
        contact.residence_district_id = person.residence_district_id
        contact.residence_building_id = person.residence_building_id
        contact.identified_at = now
        for order in session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.contact_id == contact.id)
        ):
            order.person_id = person.id
            order.updated_at = now
        session.flush()
        refer_if_elsewhere(session, contact=contact, now=now)
    auth_service.record_audit(
        session,
        principal=principal,
        action="identify",
        entity="contact",
        entity_ids=[contact.id],
        detail={"person_id": person.id},
    )
    return contact


def get_contact(session: Session, *, principal: Principal, contact_id: int) -> CloseContact:
    """A contact whose case the principal sees, or who lives in the principal's district."""
    principal.require(Permission.read_persons)
    contact = session.get(CloseContact, contact_id)
    if contact is None or not (
        principal.district_id is None
        or contact.residence_district_id == principal.district_id
        or session.scalar(
            visible_cases(principal).with_only_columns(Case.id).where(Case.id == contact.case_id)
        )
        is not None
    ):
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    return contact


# The state of a contact's own quarantine order (its only status); "waiting" is active with no bed.
ContactStatus = Literal["active", "waiting", "released", "became_case", "cancelled"]


def list_contacts(
    session: Session,
    *,
    principal: Principal,
    district_code: str | None = None,
    day: date | None = None,
    status: ContactStatus | None = None,
    tz: str = DEFAULT_TZ,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[CloseContact], int]:
    """Contacts the principal may see (those of its cases, or living in its district), newest
    first; `district` is where the contact lives, `day` the local day it was registered."""
    principal.require(Permission.read_persons)
    query = select(CloseContact)
    if principal.district_id is not None:
        query = query.where(
            or_(
                CloseContact.residence_district_id == principal.district_id,
                CloseContact.case_id.in_(visible_cases(principal).with_only_columns(Case.id)),
            )
        )
    if district_code is not None:
        district = areas_service.get_district(session, code=district_code)
        query = query.where(CloseContact.residence_district_id == district.id)
    if day is not None:
        start, end = day_bounds_utc(day, tz)
        query = query.where(CloseContact.registered_at >= start, CloseContact.registered_at < end)
    if status is not None:
        orders = select(QuarantineOrder.contact_id).where(
            QuarantineOrder.status == ("active" if status == "waiting" else status)
        )
        if status == "waiting":
            orders = orders.where(
                QuarantineOrder.facility_id.is_(None),
                QuarantineOrder.starts_on < QuarantineOrder.home_from,
            )
        query = query.where(CloseContact.id.in_(orders))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    contacts = list(
        session.scalars(
            query.order_by(CloseContact.registered_at.desc(), CloseContact.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return contacts, total


def cases_of_contacts(session: Session, *, contact_ids: Sequence[int]) -> dict[int, int]:
    """Contact id → the id of the case it is a contact of (for links from its order)."""
    found: dict[int, int] = {}
    for part in chunks(list(contact_ids)):
        rows = session.execute(
            select(CloseContact.id, CloseContact.case_id).where(CloseContact.id.in_(part))
        )
        found.update((contact_id, case_id) for contact_id, case_id in rows)
    return found


def contacts_of_case(session: Session, *, principal: Principal, case_id: int) -> list[CloseContact]:
    case = get_case(session, principal=principal, case_id=case_id, reason="contacts")
    return list(
        session.scalars(
            select(CloseContact).where(CloseContact.case_id == case.id).order_by(CloseContact.id)
        )
    )


def contact_reads(
    session: Session,
    contacts: Sequence[CloseContact],
    *,
    principal: Principal,
    protector: PersonalDataProtector | None = None,
) -> list[ContactRead]:
    """Contacts with their orders; names and phones of unidentified ones only with `protector`
    (an audited read)."""
    ids = [c.id for c in contacts]
    orders_by_contact: dict[int, QuarantineOrder] = {}
    orders_by_person: dict[int, QuarantineOrder] = {}
    needs: dict[int, int] = {}
    person_ids = [c.person_id for c in contacts if c.person_id is not None]
    for part in chunks(ids):
        for order in session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.contact_id.in_(part))
        ):
            orders_by_contact[order.contact_id] = order
        needs.update(
            session.execute(
                select(ContactReferralNeed.contact_id, ContactReferralNeed.id).where(
                    ContactReferralNeed.contact_id.in_(part)
                )
            ).all()
        )
    for part in chunks(person_ids):
        # A contact of two cases keeps the one order the first contact gave it.
        for order in session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.person_id.in_(part))
            .order_by(QuarantineOrder.id.desc())
        ):
            orders_by_person[order.person_id or 0] = order
    all_orders = list(orders_by_contact.values()) + list(orders_by_person.values())
    reads_of_orders = {
        o.id: r for o, r in zip(all_orders, order_reads(session, all_orders), strict=True)
    }
    codes = areas_service.district_code_by_id(session)
    buildings = areas_service.buildings_by_id(
        session,
        ids=[c.residence_building_id for c in contacts]
        + [c.exposure_building_id for c in contacts],
    )
    # Every contact read is audited (it names a person, or a name and phone); one not (yet)
    # identified is shown as its district reported it, whoever it was matched to behind it.
    auth_service.record_audit(
        session, principal=principal, action="read", entity="contact", entity_ids=ids
    )
    reads = []
    for c in contacts:
        identified = c.identified_at is not None
        shown_order = orders_by_contact.get(c.id) or (
            orders_by_person.get(c.person_id) if c.person_id is not None and identified else None
        )
        reveal = protector is not None and not identified
        reads.append(
            ContactRead(
                id=c.id,
                case_id=c.case_id,
                person_id=c.person_id if identified else None,
                identified=identified,
                name=protector.decrypt_optional(c.name_enc) if reveal and protector else None,
                phone=protector.decrypt_optional(c.phone_enc) if reveal and protector else None,
                residence_district_code=codes[c.residence_district_id],
                residence_building_code=buildings[c.residence_building_id].code
                if c.residence_building_id in buildings
                else None,
                tracing_district_code=codes[c.tracing_district_id],
                exposure_kind=c.exposure_kind,
                exposure_building_code=buildings[c.exposure_building_id].code
                if c.exposure_building_id in buildings
                else None,
                last_exposure_at=c.last_exposure_at,
                registered_at=c.registered_at,
                quarantine_order=reads_of_orders[shown_order.id]
                if shown_order is not None
                else None,
                referral_need_id=needs.get(c.id) if identified else None,
            )
        )
    return reads
