"""A duplicate person's case records moved to the person it is merged into: the case, close
contacts, quarantine orders and contact referral needs.

One person has one case, and is one contact of a case: two cases, or two contacts of one case,
are refused (the duplicate case or contact is for the tracing team to settle, not a merge).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from xietong.cases.models import Case, CloseContact, ContactReferralNeed, QuarantineOrder
from xietong.core.errors import Conflict
from xietong.storage.bulk_sql import rowcount


def merge_conflicts(session: Session, *, from_person_id: int, to_person_id: int) -> None:
    """Refuse (Conflict, naming the records) a merge that would give a person two cases or
    make a person twice the contact of one case."""
    query = select(Case.person_id, Case.id).where(
        Case.person_id.in_([from_person_id, to_person_id])
    )
    cases: dict[int, int] = {person_id: case_id for person_id, case_id in session.execute(query)}
    if len(cases) == 2:
        raise Conflict(
            f"both persons have a case (case {cases[to_person_id]} of person {to_person_id}, "
            f"case {cases[from_person_id]} of person {from_person_id}): one person has one case, "
            "so the duplicate case must be settled first",
            code="merge_conflict",
            details={"table": "cases_case", "case_ids": sorted(cases.values())},
        )
    other = aliased(CloseContact)
    shared = session.scalars(
        select(CloseContact.case_id)
        .join(other, (other.case_id == CloseContact.case_id) & (other.person_id == to_person_id))
        .where(CloseContact.person_id == from_person_id)
    ).all()
    if shared:
        raise Conflict(
            f"both persons are close contacts of case(s) {', '.join(map(str, shared))}: one "
            "person is one contact of a case, so the duplicate contact must be settled first",
            code="merge_conflict",
            details={"table": "cases_close_contact", "case_ids": list(shared)},
        )


def move_person_records(
    session: Session, *, from_person_id: int, to_person_id: int
) -> dict[str, int]:
    """Move every case record of one person to another (after `merge_conflicts`); return the
    rows moved by table."""
    session.flush()
    merge_conflicts(session, from_person_id=from_person_id, to_person_id=to_person_id)
    moved: dict[str, int] = {}
    for model in (Case, CloseContact, QuarantineOrder, ContactReferralNeed):
        statement = (
            update(model)
            .where(model.person_id == from_person_id)
            .values(person_id=to_person_id)
            .execution_options(synchronize_session=False)
        )
        moved[model.__tablename__] = rowcount(session.execute(statement))
    return moved
