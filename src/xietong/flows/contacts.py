"""Close contacts registered or identified, and the referrals they need opened at once: a contact
whose person lives in another district is pushed to that district in the same transaction, from
whichever entry point (API, page, replay) the contact came."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from xietong.cases.contacts import service as contact_service
from xietong.cases.contacts.batch import ContactOfCase
from xietong.cases.contacts.batch import register_contacts as register_contact_batch
from xietong.cases.schemas import ContactCreate, ContactIdentify, ContactRead
from xietong.core.principal import Principal
from xietong.flows.referrals import open_referrals_from_needs
from xietong.people.protection import PersonalDataProtector


def register_contact(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    case_id: int,
    contact_in: ContactCreate,
    now: datetime,
    tz: str,
) -> ContactRead:
    """Register a close contact and open the referral it needs, in the caller's transaction;
    the contact as the caller may read it (an audited read)."""
    contact = contact_service.register_contact(
        session,
        principal=principal,
        protector=protector,
        case_id=case_id,
        contact_in=contact_in,
        now=now,
        tz=tz,
    )
    open_referrals_from_needs(session, now=now, tz=tz)
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]


def register_contacts(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    contacts: Sequence[ContactOfCase],
    now: datetime,
    tz: str,
) -> list[int]:
    """Register close contacts of cases as one batch (all or none) and open the referrals they
    need, in the caller's transaction; the contacts' ids."""
    made = register_contact_batch(
        session, principal=principal, protector=protector, contacts=contacts, now=now, tz=tz
    )
    open_referrals_from_needs(session, now=now, tz=tz)
    return [c.id for c in made]


def identify_contact(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    contact_id: int,
    identify_in: ContactIdentify,
    now: datetime,
    tz: str,
) -> ContactRead:
    """Identify a contact and open the referral it needs, in the caller's transaction; the
    contact as the caller may read it (an audited read)."""
    contact = contact_service.identify_contact(
        session,
        principal=principal,
        protector=protector,
        contact_id=contact_id,
        identify_in=identify_in,
        now=now,
    )
    open_referrals_from_needs(session, now=now, tz=tz)
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]
