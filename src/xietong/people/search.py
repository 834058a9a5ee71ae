"""Finding persons by what a caller reads out: the last four characters of the national ID (kept
in its masked form) or the last four digits of the phone (matched on their keyed hash). Only
within what the principal may see; every person found is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.orm import Session

from xietong.core.principal import Permission, Principal
from xietong.people.models import ID_TAIL_SQL, Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonSummary
from xietong.people.service import audit_persons, summaries, visible_persons


def find_by_id_tail(
    session: Session, *, principal: Principal, tail: str, at: datetime, limit: int = 20
) -> list[PersonSummary]:
    """Persons the principal may see whose national ID ends with `tail` (the masked form keeps
    the last four characters); each one found is audited."""
    principal.require(Permission.read_persons)
    tail = tail.strip().upper()
    if len(tail) != 4 or not tail.isalnum():
        return []
    matches = literal_column(ID_TAIL_SQL) == tail
    return _found(session, principal, matches, at=at, limit=limit, why=f"ID ending {tail}")


def find_by_phone_tail(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    tail: str,
    at: datetime,
    limit: int = 20,
) -> list[PersonSummary]:
    """Persons the principal may see whose phone ends with the four digits `tail` (matched on
    the keyed hash of those digits); each one found is audited."""
    principal.require(Permission.read_persons)
    tail = tail.strip()
    if len(tail) != 4 or not tail.isdigit():
        return []
    matches = Person.phone_tail_hash == protector.hash_phone_tail(tail)
    return _found(session, principal, matches, at=at, limit=limit, why=f"phone ending {tail}")


def _found(
    session: Session,
    principal: Principal,
    matches: ColumnElement[bool],
    *,
    at: datetime,
    limit: int,
    why: str,
) -> list[PersonSummary]:
    """The visible persons `matches` selects, first by id, each audited as a search for `why`."""
    persons = list(
        session.scalars(
            visible_persons(principal, at=at).where(matches).order_by(Person.id).limit(limit)
        )
    )
    audit_persons(
        session,
        principal=principal,
        action="search",
        ids=[p.id for p in persons],
        reason=f"search: {why}",
    )
    return summaries(session, persons)
