"""Possible duplicate persons: found set-based on keyed hashes, reviewed, dismissed or merged.

Two records of one national ID cannot exist (the ID hash is unique: registration refuses the
second one, a bulk import skips it), so the queue holds the near matches a person must judge:
the same name and birth date, or the same phone and birth date. A pair is proposed once; a
dismissed pair ("not the same person") is never proposed again. A pair is seen by the city, and
by a district only when both persons live or stay in the district.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from xietong.areas import service as areas_service
from xietong.core.errors import Conflict, NotFound, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.people.models import DuplicatePair, Person, PersonAccessGrant
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import DuplicateFindReport, DuplicatePairRead, DuplicatePerson
from xietong.people.service import audit_persons, shown
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import rowcount
from xietong.storage.paging import paged

PairStatus = Literal["open", "merged", "dismissed", "superseded"]
STATUSES: tuple[str, ...] = ("open", "merged", "dismissed", "superseded")
NAME_BIRTH = "name_birth"
PHONE_BIRTH = "phone_birth"

_First = aliased(Person, name="first_person")
_Second = aliased(Person, name="second_person")


def _in_district(person: type[Person], district_id: int) -> ColumnElement[bool]:
    return or_(
        person.residence_district_id == district_id, person.current_district_id == district_id
    )


def _pair_scope(principal: Principal) -> ColumnElement[bool] | None:
    """Both persons within the principal's jurisdiction (None: the city sees every pair). An
    access grant (a referral's) lets a district see a person, not merge it."""
    if principal.district_id is None:
        return None
    return and_(
        _in_district(_First, principal.district_id),
        _in_district(_Second, principal.district_id),
    )


def _candidates(principal: Principal, hashed: str, reason: str) -> Select[int, int, str]:
    """Pairs (lower id first) of live persons with the same `hashed` column and birth date,
    both in the jurisdiction, not proposed before: one indexed self-join."""
    first_hash, second_hash = getattr(_First, hashed), getattr(_Second, hashed)
    query = (
        select(_First.id, _Second.id, literal(reason))
        .join(
            _Second,
            and_(
                second_hash == first_hash,
                _Second.birth_date == _First.birth_date,
                _Second.id > _First.id,
            ),
        )
        .where(
            first_hash.is_not(None),
            _First.birth_date.is_not(None),
            _First.merged_into_id.is_(None),
            _Second.merged_into_id.is_(None),
            ~exists().where(
                DuplicatePair.first_person_id == _First.id,
                DuplicatePair.second_person_id == _Second.id,
            ),
        )
    )
    scope = _pair_scope(principal)
    return query if scope is None else query.where(scope)


def find_duplicates(
    session: Session, *, principal: Principal, now: datetime
) -> DuplicateFindReport:
    """Propose every new pair of possible duplicates in the principal's jurisdiction."""
    principal.require(Permission.merge_persons)
    found: dict[tuple[int, int], list[str]] = {}
    query = union_all(
        _candidates(principal, "name_hash", NAME_BIRTH),
        _candidates(principal, "phone_hash", PHONE_BIRTH),
    )
    for first, second, reason in session.execute(query):
        found.setdefault((first, second), []).append(reason)
    rows = (
        (first, second, "+".join(sorted(reasons)), "open", now, principal.username)
        for (first, second), reasons in sorted(found.items())
    )
    proposed = bulk_insert(
        session,
        DuplicatePair.__table__,  # type: ignore[arg-type]
        ["first_person_id", "second_person_id", "reason", "status", "found_at", "found_by"],
        rows,
        # A find running at the same moment may have proposed the same pair: one of them is kept.
        skip_conflicts_on=["first_person_id", "second_person_id"],
    )
    session.flush()
    audit_persons(
        session,
        principal=principal,
        action="duplicates_find",
        ids=["*"],
        detail={"proposed": proposed},
    )
    return DuplicateFindReport(proposed=proposed, open=count_open(session, principal=principal))


def _scoped_pairs(principal: Principal) -> Select[DuplicatePair]:
    query = (
        select(DuplicatePair)
        .join(_First, _First.id == DuplicatePair.first_person_id)
        .join(_Second, _Second.id == DuplicatePair.second_person_id)
    )
    scope = _pair_scope(principal)
    return query if scope is None else query.where(scope)


def count_open(session: Session, *, principal: Principal) -> int:
    """How many pairs in the principal's jurisdiction wait for a decision."""
    query = _scoped_pairs(principal).where(DuplicatePair.status == "open")
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def list_pairs(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    status: str = "open",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DuplicatePairRead], int]:
    """A page of the pairs in the principal's jurisdiction with this status, each person's name
    and phone shown to compare (every person listed is audited as read)."""
    principal.require(Permission.merge_persons)
    if status not in STATUSES:
        raise ValidationFailed(
            errors=[RowError("duplicates", "status", f"must be one of {', '.join(STATUSES)}")]
        )
    query = _scoped_pairs(principal).where(DuplicatePair.status == status)
    pairs, total = paged(session, query, order_by=[DuplicatePair.id], limit=limit, offset=offset)
    return pair_reads(session, principal=principal, protector=protector, pairs=pairs), total


def pair_reads(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    pairs: Sequence[DuplicatePair],
) -> list[DuplicatePairRead]:
    """The pairs as the reviewer sees them; the persons shown are audited as read."""
    ids = {i for p in pairs for i in (p.first_person_id, p.second_person_id)}
    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    codes = areas_service.district_code_by_id(session)

    def side(person_id: int) -> DuplicatePerson:
        person = persons[person_id]
        return DuplicatePerson(
            **dict(shown(person, protector)),
            residence_district_code=codes[person.residence_district_id],
            current_district_code=codes[person.current_district_id],
            merged_into=person.merged_into_id,
        )

    reads = [
        DuplicatePairRead(
            id=p.id,
            reason=p.reason,
            status=p.status,
            found_at=p.found_at,
            decided_at=p.decided_at,
            decided_by=p.decided_by,
            survivor_id=p.survivor_id,
            note=p.note,
            first=side(p.first_person_id),
            second=side(p.second_person_id),
        )
        for p in pairs
    ]
    audit_persons(
        session, principal=principal, action="list", ids=sorted(ids), reason="duplicate review"
    )
    return reads


def get_pair(session: Session, *, principal: Principal, pair_id: int) -> DuplicatePair:
    """A pair in the principal's jurisdiction (404 otherwise: another district's pair is not
    disclosed)."""
    principal.require(Permission.merge_persons)
    pair = session.scalar(_scoped_pairs(principal).where(DuplicatePair.id == pair_id))
    if pair is None:
        raise NotFound(f"no duplicate pair {pair_id} in your jurisdiction", code="pair_not_found")
    return pair


def _require_open(pair: DuplicatePair) -> None:
    if pair.status != "open":
        raise Conflict(f"duplicate pair {pair.id} is {pair.status}, not open", code="pair_not_open")


def dismiss(
    session: Session,
    *,
    principal: Principal,
    pair_id: int,
    note: str | None,
    now: datetime,
) -> DuplicatePair:
    """Record that the two persons are not the same person: the pair is never proposed again."""
    pair = get_pair(session, principal=principal, pair_id=pair_id)
    _require_open(pair)
    pair.status, pair.decided_at, pair.decided_by = "dismissed", now, principal.username
    pair.note = note
    session.flush()
    audit_persons(
        session,
        principal=principal,
        action="duplicate_dismiss",
        ids=[pair.first_person_id, pair.second_person_id],
        reason=note,
        detail={"pair_id": pair.id},
    )
    return pair


def merge_parties(
    session: Session, *, principal: Principal, pair_id: int, survivor_id: int
) -> tuple[DuplicatePair, int]:
    """The open pair to merge and the id of the person merged away; the survivor must be one of
    its two persons."""
    pair = get_pair(session, principal=principal, pair_id=pair_id)
    _require_open(pair)
    members = (pair.first_person_id, pair.second_person_id)
    if survivor_id not in members:
        raise ValidationFailed(
            errors=[
                RowError(
                    f"duplicate pair {pair.id}",
                    "survivor_id",
                    f"must be one of the pair's persons ({members[0]} or {members[1]})",
                    str(survivor_id),
                )
            ]
        )
    return pair, members[1] if survivor_id == members[0] else members[0]


def record_merge(
    session: Session,
    *,
    principal: Principal,
    pair: DuplicatePair,
    merged_id: int,
    moved: dict[str, int],
    now: datetime,
) -> None:
    """Mark the merged person (kept, no longer listed or matched) and the pair decided; close
    the other open pairs naming the merged person; audit who merged whom and what moved."""
    survivor_id = (
        pair.first_person_id if merged_id == pair.second_person_id else pair.second_person_id
    )
    session.execute(
        update(Person)
        .where(Person.id == merged_id)
        .values(merged_into_id=survivor_id, merged_at=now, updated_at=now)
    )
    session.execute(update(Person).where(Person.id == survivor_id).values(updated_at=now))
    pair.status, pair.decided_at, pair.decided_by = "merged", now, principal.username
    pair.survivor_id = survivor_id
    superseded = rowcount(
        session.execute(
            update(DuplicatePair)
            .where(
                DuplicatePair.status == "open",
                DuplicatePair.id != pair.id,
                or_(
                    DuplicatePair.first_person_id == merged_id,
                    DuplicatePair.second_person_id == merged_id,
                ),
            )
            .values(status="superseded", decided_at=now, decided_by=principal.username)
            .execution_options(synchronize_session=False)
        )
    )
    session.flush()
    audit_persons(
        session,
        principal=principal,
        action="merge",
        ids=[survivor_id, merged_id],
        detail={
            "pair_id": pair.id,
            "survivor_id": survivor_id,
            "merged_id": merged_id,
            "moved": moved,
            "pairs_superseded": superseded,
        },
    )


def move_person_records(
    session: Session, *, from_person_id: int, to_person_id: int
) -> dict[str, int]:
    """Move the access grants of one person to another; where both have a grant for the same
    district, the survivor's is kept with the later expiry. Return the rows moved."""
    source = select(PersonAccessGrant).where(PersonAccessGrant.person_id == from_person_id)
    moved = 0
    for grant in session.scalars(source).all():
        kept = session.get(PersonAccessGrant, (to_person_id, grant.district_id))
        if kept is None:
            grant.person_id = to_person_id
            moved += 1
            continue
        if kept.expires_at is not None and (
            grant.expires_at is None or grant.expires_at > kept.expires_at
        ):
            kept.expires_at = grant.expires_at
        session.delete(grant)
    session.flush()
    return {"people_access_grant": moved}
