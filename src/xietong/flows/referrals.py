"""Referrals opened where their cause is: the referral needs that screening (a positive pool or a
positive whose person lives in another district) and case work (a close contact living
elsewhere) recorded in the same transaction are turned into referrals and marked opened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xietong.cases.contacts import needs as contact_needs
from xietong.core.principal import SYSTEM, Principal
from xietong.referrals.service import ReferralCause, open_referrals
from xietong.screening import service as screening_service

BATCH = 10_000


def open_referrals_from_needs(
    session: Session, *, now: datetime, tz: str, actor: Principal = SYSTEM
) -> dict[str, Any]:
    """Open a referral for every pending need; a need whose cause already has its referral
    (a file ingested twice) opens nothing new and is marked opened all the same."""
    opened = needs = 0
    while True:
        screening = screening_service.pending_referral_needs(session, limit=BATCH)
        contacts = contact_needs.pending_referral_needs(session, limit=BATCH)
        if not screening and not contacts:
            break
        causes = [
            ReferralCause(
                person_id=n.person_id,
                reason=n.reason,
                evidence=f"tube:{n.tube_id}",
                from_district_id=n.from_district_id,
                to_district_id=n.to_district_id,
            )
            for n in screening
            if n.from_district_id != n.to_district_id
        ] + [
            ReferralCause(
                person_id=n.person_id,
                reason=n.reason,
                evidence=f"contact:{n.contact_id}",
                from_district_id=n.from_district_id,
                to_district_id=n.to_district_id,
                note=f"close contact of case {n.case_id}",
            )
            for n in contacts
            if n.from_district_id != n.to_district_id
        ]
        opened += len(open_referrals(session, causes=causes, actor=actor, at=now, tz=tz))
        screening_service.mark_referral_needs_opened(
            session, need_ids=[n.id for n in screening], now=now
        )
        contact_needs.mark_referral_needs_opened(
            session, need_ids=[n.id for n in contacts], now=now
        )
        needs += len(screening) + len(contacts)
    return {"needs": needs, "opened": opened}
