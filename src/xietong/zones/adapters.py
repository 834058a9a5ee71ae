"""What zones needs from other domains, each behind one small seam: the negative screening days
(screening), the outbox (proposals someone must act on) and the number of residents per building
(people). Tests and benchmarks pass their own screening source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeAlias, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    bindparam,
    cast,
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
        # Sent as the array's text, which the server parses at once: the driver would otherwise
        # adapt tens of thousands of integers one by one.
        array = "{" + ",".join(map(str, values)) + "}"
        listed = select(
            func.unnest(cast(bindparam(None, array, type_=Text()), ARRAY(BigInteger())))
        )
    else:
        listed = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(values)))
        )
    return column.in_(listed)  # type: ignore[no-any-return]


_Answer = TypeVar("_Answer", covariant=True)


class ScreeningQuestion(Protocol[_Answer]):
    """A question to the screening about buildings over a window of local days."""

    def __call__(
        self,
        session: Session,
        *,
        building_ids: Collection[int],
        first_day: date,
        last_day: date,
    ) -> _Answer: ...


# Local days on which each building was sampled and every result was negative.
ScreeningSource: TypeAlias = ScreeningQuestion[dict[int, set[date]]]

# The buildings sampled, every result negative, on each day of the window: one building per row,
# which a source can answer in SQL whatever the number of days.
ScreenedThroughout: TypeAlias = ScreeningQuestion[set[int]]


def screening_source() -> ScreeningSource | None:
    """The screening domain's `negative_screening_days` (tests may replace this seam)."""
    return screening_service.negative_screening_days


def screened_throughout_source() -> ScreenedThroughout | None:
    """The screening domain's `buildings_negative_throughout` (tests may replace this seam)."""
    return screening_service.buildings_negative_throughout


def throughout_from_days(source: ScreeningSource) -> ScreenedThroughout:
    """The same question asked of a source of days: the buildings negative on each day."""

    def screened(
        session: Session, *, building_ids: Collection[int], first_day: date, last_day: date
    ) -> set[int]:
        window = {first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)}
        found = source(session, building_ids=building_ids, first_day=first_day, last_day=last_day)
        return {building for building, days in found.items() if window <= days}

    return screened


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
    now: datetime,
    command_centre: bool = False,
) -> bool:
    """Send a notice to the district (and the command centre) in the caller's transaction.

    Returns whether the outbox took it; without an outbox domain the step still happens.
    """
    enqueue = outbox_enqueue()
    if enqueue is None:
        return False
    audience = _audience(district_id, command_centre)
    enqueue(
        session,
        topic=topic,
        payload=payload,
        audience_district_ids=audience,
        idempotency_key=idempotency_key,
        now=now,
    )
    return True


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A notice to a district (and the command centre), as `notify` takes it."""

    topic: str
    payload: dict[str, Any]
    district_id: int
    idempotency_key: str
    command_centre: bool = False


def notify_all(session: Session, *, notices: Sequence[Notice], now: datetime) -> bool:
    """`notify` for many notices: the outbox itself takes them in the same few statements
    whatever their number (the daily evaluation sends one per district)."""
    enqueue = outbox_enqueue()
    if enqueue is None:
        return False
    if enqueue is not outbox_service.enqueue:
        for notice in notices:
            notify(session, **_fields(notice), now=now)
        return True
    outbox_service.enqueue_many(
        session,
        messages=[
            outbox_service.Message(
                topic=notice.topic,
                payload=notice.payload,
                audience_district_ids=_audience(notice.district_id, notice.command_centre),
                idempotency_key=notice.idempotency_key,
            )
            for notice in notices
        ],
        now=now,
    )
    return True


def _fields(notice: Notice) -> dict[str, Any]:
    return {field.name: getattr(notice, field.name) for field in fields(notice)}


def _audience(district_id: int, command_centre: bool) -> list[int | None]:
    return [district_id, None] if command_centre else [district_id]


# --- residents (counts only; the areas service gives the buildings) ---


def residents_per_building(session: Session, building_ids: Collection[int]) -> dict[int, int]:
    """How many persons live in each building: counts only, no person record is read."""
    from xietong.people.service import person_keys

    persons = person_keys()
    wanted = sorted(set(building_ids))
    counts: dict[int, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.execute(
            select(persons.c.residence_building_id, func.count())
            .where(id_in(persons.c.residence_building_id, chunk, session=session))
            .group_by(persons.c.residence_building_id)
        )
        counts.update({int(b): int(n) for b, n in rows})
    return counts
