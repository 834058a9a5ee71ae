"""Close contacts registered or identified, and the referrals they need opened at once: a contact
whose person lives in another district is pushed to that district in the same transaction, from
whichever entry point (API, page, replay) the contact came."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy.orm import Session

from xietong.cases.contacts import service as contact_service
from xietong.cases.contacts.batch import ContactOfCase
from xietong.cases.contacts.batch import register_contacts as register_contact_batch
from xietong.cases.schemas import ContactCreate, ContactIdentify, ContactRead
from xietong.core.principal import Principal
from xietong.flows.referrals import open_referrals_from_needs
from xietong.people.protection import PersonalDataProtector


class ContactWork(TypedDict):
    """Who registers or identifies contacts, the protector of their personal data, and when."""

    principal: Principal
    protector: PersonalDataProtector
    now: datetime


def register_contact(
    session: Session,
    *,
    case_id: int,
    contact_in: ContactCreate,
    tz: str,
    **work: Unpack[ContactWork],
) -> ContactRead:
    """Register a close contact and open the referral it needs, in the caller's transaction;
    the contact as the caller may read it (an audited read)."""
    contact = contact_service.register_contact(
        session, case_id=case_id, contact_in=contact_in, tz=tz, **work
    )
    return _referred(session, contact, tz=tz, **work)


def register_contacts(
    session: Session, *, contacts: Sequence[ContactOfCase], tz: str, **work: Unpack[ContactWork]
) -> list[int]:
    """Register close contacts of cases as one batch (all or none) and open the referrals they
    need, in the caller's transaction; the contacts' ids."""
    made = register_contact_batch(session, contacts=contacts, tz=tz, **work)
    open_referrals_from_needs(session, now=work["now"], tz=tz)
    return [c.id for c in made]


def identify_contact(
    session: Session,
    *,
    contact_id: int,
    identify_in: ContactIdentify,
    tz: str,
    **work: Unpack[ContactWork],
) -> ContactRead:
    """Identify a contact and open the referral it needs, in the caller's transaction; the
    contact as the caller may read it (an audited read)."""
    contact = contact_service.identify_contact(
        session, contact_id=contact_id, identify_in=identify_in, **work
    )
    return _referred(session, contact, tz=tz, **work)


def _referred(
    session: Session, contact: contact_service.CloseContact, *, tz: str, **work: Unpack[ContactWork]
) -> ContactRead:
    open_referrals_from_needs(session, now=work["now"], tz=tz)
    return contact_service.contact_reads(
        session, [contact], principal=work["principal"], protector=work["protector"]
    )[0]
