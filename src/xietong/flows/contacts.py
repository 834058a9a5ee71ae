"""Registering a close contact with its hand-off: the contact, its quarantine order and, when the
contact lives in another district, the referral to that district, in one transaction.

The cases domain records the referral need; the referrals domain opens it here at once, so a
district's inbox shows the contact the moment it is registered, whatever the entry point.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xietong.cases.contacts import service as contact_service
from xietong.cases.schemas import ContactCreate
from xietong.core.principal import Principal
from xietong.flows import referrals as referral_flows
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
) -> None:
    """Register a close contact of a case and push its referral when it lives elsewhere."""
    contact_service.register_contact(
        session,
        principal=principal,
        protector=protector,
        case_id=case_id,
        contact_in=contact_in,
        now=now,
        tz=tz,
    )
    referral_flows.open_referrals_from_needs(session, now=now, tz=tz)
