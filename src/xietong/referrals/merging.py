"""A duplicate person's referrals moved to the person it is merged into. Two referrals of one
cause (both records referred for the same tube or contact) are refused: which of the two
districts' answers stands is for the districts to settle."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from xietong.core.errors import Conflict
from xietong.referrals.models import Referral
from xietong.storage.bulk_sql import rowcount


def move_person_records(
    session: Session, *, from_person_id: int, to_person_id: int
) -> dict[str, int]:
    """Move every referral of one person to another; return the rows moved."""
    session.flush()
    kept = aliased(Referral)
    same_cause = session.execute(
        select(Referral.id, kept.id)
        .join(
            kept,
            (kept.person_id == to_person_id)
            & (kept.reason == Referral.reason)
            & (kept.evidence == Referral.evidence),
        )
        .where(Referral.person_id == from_person_id)
    ).all()
    if same_cause:
        pairs = ", ".join(f"{theirs} and {ours}" for theirs, ours in same_cause)
        raise Conflict(
            f"both persons were referred for the same cause (referrals {pairs}): a person has "
            "one referral per cause, so one of them must be closed first",
            code="merge_conflict",
            details={"table": "referrals_referral", "referral_ids": [list(p) for p in same_cause]},
        )
    statement = (
        update(Referral)
        .where(Referral.person_id == from_person_id)
        .values(person_id=to_person_id)
        .execution_options(synchronize_session=False)
    )
    moved = rowcount(session.execute(statement))
    return {"referrals_referral": moved}
