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
from xietong.storage import need_queue


def refer_if_elsewhere(
    session: Session, *, contact: CloseContact, now: datetime
) -> ContactReferralNeed | None:
    """A contact living outside the tracing district: that district must find the person."""
    if contact.person_id is None or contact.residence_district_id == contact.tracing_district_id:
        return None
    existing = session.scalar(
        select(ContactReferralNeed).where(ContactReferralNeed.contact_id == contact.id)
    )
    if existing is not None:
        return existing
    need = ContactReferralNeed(
        contact_id=contact.id,
        person_id=contact.person_id,
        case_id=contact.case_id,
        reason="close_contact",
        from_district_id=contact.tracing_district_id,
        to_district_id=contact.residence_district_id,
        created_at=now,
    )
    session.add(need)
    session.flush()
    return need


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
