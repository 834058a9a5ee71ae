"""What the referrals domain still needs of persons when personal data is pseudonymised: anyone
with a referral still open or changed since the cut-off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from xietong.referrals.models import Referral


def persons_active_since(*, since: datetime) -> Select[Any]:
    """Ids of the persons of referrals changed since `since` or not yet closed or declined."""
    return select(Referral.person_id).where(
        (Referral.updated_at >= since)
        | (Referral.closed_at.is_(None) & Referral.declined_at.is_(None))
    )
