"""The retention job: persons whose data is past the retention period (no change to them, and no
case, contact, quarantine order or referral naming them, for `retention_days`) are pseudonymised."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.orm import Session

from xietong.cases import retention as cases_retention
from xietong.people import retention as people_retention
from xietong.people.protection import PersonalDataProtector
from xietong.referrals import retention as referrals_retention


class RetentionReport(BaseModel):
    cut_off: datetime
    pseudonymised: int


def apply_retention(
    session: Session, *, protector: PersonalDataProtector, retention_days: int, now: datetime
) -> RetentionReport:
    """Pseudonymise the persons past the retention period."""
    cut_off = now - timedelta(days=retention_days)
    done = people_retention.pseudonymise_inactive(
        session,
        protector=protector,
        unchanged_since=cut_off,
        still_needed=[
            cases_retention.persons_active_since(since=cut_off),
            referrals_retention.persons_active_since(since=cut_off),
        ],
        now=now,
    )
    return RetentionReport(cut_off=cut_off, pseudonymised=done)
