"""What zones needs from other domains, each behind one small seam: the negative screening days
(screening), the outbox (proposals someone must act on), and read-only look-ups of buildings and
residents. Tests and benchmarks pass their own screening source; missing domains degrade safely.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from xietong.outbox import service as outbox_service
from xietong.screening import service as screening_service

_CHUNK = 50_000


def id_in(column: Any, ids: Sequence[int], *, session: Session) -> ColumnElement[bool]:
    """`column IN ids` with the ids bound as one parameter (an array on PostgreSQL, JSON on
    SQLite) and unnested in a subquery, however many there are: the database then hashes the
    list (`= ANY(array)` would scan it for every row), and no statement renders thousands of
    separate parameters."""
    values = [int(i) for i in ids]
    listed: Select[Any]
    if session.get_bind().dialect.name == "postgresql":
        listed = select(func.unnest(bindparam(None, values, type_=ARRAY(BigInteger()))))
    else:
        listed = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(values)))
        )
    return column.in_(listed)  # type: ignore[no-any-return]


class ScreeningSource(Protocol):
    """Local days on which each building was sampled and every result was negative."""

    def __call__(
        self,
        session: Session,
        *,
        building_ids: Collection[int],
        first_day: date,
        last_day: date,
    ) -> dict[int, set[date]]: ...


def screening_source() -> ScreeningSource | None:
    """The screening domain's `negative_screening_days` (tests may replace this seam)."""
    return screening_service.negative_screening_days


Enqueue = Callable[..., None]


def outbox_enqueue() -> Enqueue | None:
    """The outbox's `enqueue` (tests may replace this seam)."""
    return outbox_service.enqueue


def notify(
    session: Session,
    *,
    topic: str,
    payload: dict[str, Any],
    district_id: int,
    idempotency_key: str,
    command_centre: bool = False,
) -> bool:
    """Send a notice to the district (and the command centre) in the caller's transaction.

    Returns whether the outbox took it; without an outbox domain the step still happens.
    """
    enqueue = outbox_enqueue()
    if enqueue is None:
        return False
    audience: list[int | None] = [district_id]
    if command_centre:
        audience.append(None)
    enqueue(
        session,
        topic=topic,
        payload=payload,
        audience_district_ids=audience,
        idempotency_key=idempotency_key,
    )
    return True


# --- buildings and residents (read-only look-ups the areas and people services do not offer) ---


@dataclass(frozen=True)
class BuildingPlace:
    id: int
    code: str
    address_label: str
    district_id: int
    community_id: int


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def buildings_by_ids(session: Session, ids: Collection[int]) -> dict[int, BuildingPlace]:
    """Code, address label and district of each building (for lists and notices)."""
    from xietong.areas.models import Building

    wanted = sorted(set(ids))
    found: dict[int, BuildingPlace] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(
                Building.id,
                Building.code,
                Building.address_label,
                Building.district_id,
                Building.community_id,
            ).where(id_in(Building.id, chunk, session=session))
        )
        for id_, code, label, district_id, community_id in rows:
            found[id_] = BuildingPlace(id_, code, label, district_id, community_id)
    return found


def wider_area_kind(session: Session, code: str) -> str | None:
    """'community' or 'street' when `code` names such an area rather than a building."""
    from xietong.areas.models import Community, Street

    if session.scalar(select(Community.id).where(Community.code == code)) is not None:
        return "community"
    if session.scalar(select(Street.id).where(Street.code == code)) is not None:
        return "street"
    return None


def residents_per_building(session: Session, building_ids: Collection[int]) -> dict[int, int]:
    """How many persons live in each building: counts only, no person record is read."""
    from xietong.people.service import person_keys

    persons = person_keys()
    wanted = sorted(set(building_ids))
    counts: dict[int, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(persons.c.residence_building_id, func.count())
            .where(id_in(persons.c.residence_building_id, chunk, session=session))
            .group_by(persons.c.residence_building_id)
        )
        counts.update({int(b): int(n) for b, n in rows})
    return counts
