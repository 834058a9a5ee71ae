"""What the cases domain still needs of persons when personal data is pseudonymised: anyone with
a case, a contact registration or a quarantine order changed since the cut-off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, union

from xietong.cases.models import Case, CloseContact, QuarantineOrder


def persons_active_since(*, since: datetime) -> Select[Any]:
    """Ids of the persons a case, a contact or a quarantine order names, changed since `since`
    (or still open)."""
    return select(
        union(
            select(Case.person_id).where(Case.updated_at >= since),
            select(CloseContact.person_id).where(
                CloseContact.person_id.is_not(None), CloseContact.registered_at >= since
            ),
            select(QuarantineOrder.person_id).where(
                QuarantineOrder.person_id.is_not(None),
                (QuarantineOrder.updated_at >= since) | (QuarantineOrder.status == "active"),
            ),
        ).subquery()
    )
