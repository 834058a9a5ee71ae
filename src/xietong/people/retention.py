"""Pseudonymisation of persons past the retention period: the name, phone, masked national ID and
birth date are erased, the record stays (keyed by its id and the keyed hash of the ID) so that the
counts and chains that name it still add up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector

# What a pseudonymised person shows instead of a name and a masked ID.
PSEUDONYM_NAME = "（已假名化）"
PSEUDONYM_ID = "-"


def pseudonymise_inactive(
    session: Session,
    *,
    protector: PersonalDataProtector,
    unchanged_since: datetime,
    still_needed: Sequence[Select[Any]],
    now: datetime,
) -> int:
    """Pseudonymise every person unchanged since `unchanged_since` whom no query of
    `still_needed` names; return how many were pseudonymised."""
    query = select(Person.id).where(
        Person.updated_at < unchanged_since, Person.id_masked != PSEUDONYM_ID
    )
    for needed in still_needed:
        query = query.where(Person.id.not_in(needed))
    ids = list(session.scalars(query))
    name = protector.encrypt(PSEUDONYM_NAME)
    for start in range(0, len(ids), 5_000):
        session.execute(
            update(Person)
            .where(Person.id.in_(ids[start : start + 5_000]))
            .values(
                name_enc=name,
                phone_enc=None,
                name_hash=None,
                phone_hash=None,
                phone_tail_hash=None,
                id_masked=PSEUDONYM_ID,
                birth_date=None,
                updated_at=now,
            )
        )
    session.flush()
    return len(ids)
