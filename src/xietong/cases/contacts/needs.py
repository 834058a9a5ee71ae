"""Referral needs of close contacts living outside the district tracing them: raised when the
contact is registered or identified, read and marked opened by the referrals domain (which
pushes the referral to the contact's district in the same transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import CloseContact, ContactReferralNeed
from xietong.cases.schemas import ContactReferralNeedRead
from xietong.people.service import Person
from xietong.storage import need_queue
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import table_of


def district_to_refer(
    *,
    tracing_district_id: int,
    residence_district_id: int,
    person: Person | None,
    reported: bool,
) -> int | None:
    """The district that must find a new contact's person, or None (the tracing district's own).

    A contact living outside the tracing district: that district. A contact reported by a
    district that may not see its person: the person's responsible district (residence; its
    place of stay when it lives in the reporting district).
    """
    if person is None:
        return None
    if reported:
        to_district = person.residence_district_id
        if to_district == tracing_district_id:
            to_district = person.current_district_id
        return None if to_district == tracing_district_id else to_district
    return None if residence_district_id == tracing_district_id else residence_district_id


def refer_if_elsewhere(
    session: Session, *, contact: CloseContact, now: datetime
) -> ContactReferralNeed | None:
    """A contact living outside the tracing district: that district must find the person."""
    if contact.person_id is None or contact.residence_district_id == contact.tracing_district_id:
        return None
    return _need(
        session,
        contact=contact,
        person_id=contact.person_id,
        to_district_id=contact.residence_district_id,
        now=now,
    )


_NEED_COLUMNS = (
    "contact_id",
    "person_id",
    "case_id",
    "reason",
    "from_district_id",
    "to_district_id",
    "created_at",
)


def raise_needs(
    session: Session, *, needs: Sequence[tuple[int, int, int, int, int]], now: datetime
) -> None:
    """The referral needs of new contacts, (contact, person, case, from, to) each, in bulk."""
    bulk_insert(
        session,
        table_of(ContactReferralNeed),
        _NEED_COLUMNS,
        [(c, p, k, "close_contact", f, t, now) for c, p, k, f, t in needs],
    )


def _need(
    session: Session, *, contact: CloseContact, person_id: int, to_district_id: int, now: datetime
) -> ContactReferralNeed:
    """The contact's one referral need (made once; asked again, the same one)."""
    existing = session.scalar(
        select(ContactReferralNeed).where(ContactReferralNeed.contact_id == contact.id)
    )
    if existing is not None:
        return existing
    need = ContactReferralNeed(
        contact_id=contact.id,
        person_id=person_id,
        case_id=contact.case_id,
        reason="close_contact",
        from_district_id=contact.tracing_district_id,
        to_district_id=to_district_id,
        created_at=now,
    )
    session.add(need)
    session.flush()
    return need


def refer_person(
    session: Session, *, contact: CloseContact, person: Person, now: datetime
) -> ContactReferralNeed | None:
    """A contact reported by a district that may not see its person: the person's responsible
    district (residence; its place of stay when it lives in the reporting district) finds it."""
    to_district = district_to_refer(
        tracing_district_id=contact.tracing_district_id,
        residence_district_id=contact.residence_district_id,
        person=person,
        reported=True,
    )
    if to_district is None:
        return None
    return _need(session, contact=contact, person_id=person.id, to_district_id=to_district, now=now)


def pending_referral_needs(
    session: Session, *, limit: int = 10_000
) -> list[ContactReferralNeedRead]:
    """Contacts living in another district that no referral has been opened for yet."""
    return need_queue.pending(
        session,
        ContactReferralNeed,
        read=ContactReferralNeedRead,
        done=ContactReferralNeed.opened_at,
        limit=limit,
    )


def mark_referral_needs_opened(session: Session, *, need_ids: Sequence[int], now: datetime) -> None:
    """The referrals domain opened referrals for these needs (in the same transaction)."""
    need_queue.mark(
        session, ContactReferralNeed, ids=need_ids, done=ContactReferralNeed.opened_at, now=now
    )
