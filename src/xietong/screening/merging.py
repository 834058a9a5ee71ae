"""A duplicate person's screening records moved to the person it is merged into: memberships,
holds, retests, case candidates and referral needs.

Both records in the same tube means one swab registered twice: the survivor's row is kept and
the duplicate's dropped (the same fact twice). Both in two different tubes of one round are two
real swabs, and the survivor keeps both, as when a person is swabbed again after a result;
but while neither tube has a result that would put one person in two open tubes of a round,
which sampling never allows, so the merge waits for a result. A positive single tube with both
records cannot be told apart, so that merge is refused too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import Session, aliased

from xietong.core.errors import Conflict
from xietong.screening.models import (
    CaseCandidate,
    Hold,
    LabResult,
    Membership,
    ReferralNeed,
    RetestTask,
    Tube,
)
from xietong.storage.bulk_sql import rowcount

# Each table and the columns that, with the person, make a row unique.
_TABLES: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Membership, ("round_day", "tube_id")),
    (Hold, ("tube_id",)),
    (RetestTask, ("source_tube_id",)),
    (ReferralNeed, ("tube_id", "reason")),
    (CaseCandidate, ("tube_id",)),
)


def move_person_records(
    session: Session, *, from_person_id: int, to_person_id: int
) -> dict[str, int]:
    """Move every screening row of one person to another; return the rows moved by table (and
    `…_dropped`: the duplicate's rows of a tube the survivor was already in)."""
    session.flush()
    clash = aliased(CaseCandidate)
    both_positive = session.scalars(
        select(CaseCandidate.tube_id).where(
            CaseCandidate.person_id == from_person_id,
            exists().where(clash.person_id == to_person_id, clash.tube_id == CaseCandidate.tube_id),
        )
    ).all()
    if both_positive:
        raise Conflict(
            f"both persons are positive in single tube(s) {', '.join(map(str, both_positive))}: "
            "one tube holds one swab, so which record the result belongs to is decided by hand",
            code="merge_conflict",
            details={"table": "screening_case_candidate", "tube_ids": list(both_positive)},
        )
    _refuse_two_open_tubes(session, from_person_id=from_person_id, to_person_id=to_person_id)
    moved: dict[str, int] = {}
    for model, key in _TABLES:
        table = model.__table__
        twin = table.alias("survivor_row")
        same_key = and_(
            twin.c.person_id == to_person_id,
            *(twin.c[column] == table.c[column] for column in key),
        )
        dropped = rowcount(
            session.execute(
                delete(table).where(table.c.person_id == from_person_id, exists().where(same_key))
            )
        )
        moved[table.name] = rowcount(
            session.execute(
                update(table)
                .where(table.c.person_id == from_person_id)
                .values(person_id=to_person_id)
            )
        )
        if dropped:
            moved[f"{table.name}_dropped"] = dropped
    session.flush()
    return moved


def _refuse_two_open_tubes(session: Session, *, from_person_id: int, to_person_id: int) -> None:
    kept = aliased(Membership)
    open_tube = ~exists().where(LabResult.tube_id == Membership.tube_id)
    kept_open = ~exists().where(LabResult.tube_id == kept.tube_id)
    both_open = session.execute(
        select(Membership.round_day, Tube.code)
        .join(
            kept,
            and_(
                kept.person_id == to_person_id,
                kept.round_day == Membership.round_day,
                kept.tube_id != Membership.tube_id,
            ),
        )
        .join(Tube, Tube.id.in_([Membership.tube_id, kept.tube_id]))
        .where(Membership.person_id == from_person_id, open_tube, kept_open)
        .order_by(Membership.round_day, Tube.code)
    ).all()
    if both_open:
        day = both_open[0].round_day
        codes = sorted({row.code for row in both_open if row.round_day == day})
        raise Conflict(
            f"both persons are in open tubes of the round of {day} ({', '.join(codes)}): one "
            "person is in one open tube per round, so merge once a result is in",
            code="merge_conflict",
            details={"table": "screening_membership", "round_day": str(day), "tubes": codes},
        )
