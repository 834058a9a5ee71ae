"""Access grants: another district let see a person (the receiving district of a referral),
one at a time or for a set at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.people.models import PersonAccessGrant
from xietong.storage.bulk_sql import chunks
from xietong.storage.unit_of_work import clock_of


def grant_access(
    session: Session,
    *,
    person_id: int,
    district_id: int,
    reason: str,
    expires_at: datetime | None = None,
) -> None:
    """Let another district see a person (e.g. the receiving district of a referral)."""
    grant_access_many(session, grants=[(person_id, district_id, reason)], expires_at=expires_at)


def grant_access_many(
    session: Session,
    *,
    grants: Sequence[tuple[int, int, str]],
    expires_at: datetime | None = None,
) -> None:
    """`grant_access` for (person, district, reason) triples, read and written at once; a pair
    granted again keeps its last reason."""
    if not grants:
        return
    pairs = sorted({(person_id, district_id) for person_id, district_id, _ in grants})
    held: dict[tuple[int, int], PersonAccessGrant] = {}
    for part in chunks(sorted({person_id for person_id, _ in pairs})):
        held.update(
            ((g.person_id, g.district_id), g)
            for g in session.scalars(
                select(PersonAccessGrant).where(PersonAccessGrant.person_id.in_(part))
            )
        )
    now = clock_of(session).now()
    for person_id, district_id, reason in grants:
        grant = held.get((person_id, district_id))
        if grant is None:
            grant = held[(person_id, district_id)] = PersonAccessGrant(
                person_id=person_id,
                district_id=district_id,
                reason=reason,
                granted_at=now,
                expires_at=expires_at,
            )
            session.add(grant)
        else:
            grant.expires_at = expires_at
            grant.reason = reason
    session.flush()
