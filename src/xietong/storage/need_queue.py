"""The queues of needs one domain leaves for another in the same transaction (a positive's
referral need, a case candidate, a contact living elsewhere): read what is still pending, oldest
first, and mark what was acted on. Each domain keeps its own table; this is how all of them are
read and marked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from xietong.storage.bulk_sql import chunks

R = TypeVar("R", bound=BaseModel)


def pending(
    session: Session,
    table: Any,
    *,
    read: type[R],
    done: InstrumentedAttribute[datetime | None],
    still_open: Sequence[ColumnElement[bool]] = (),
    limit: int,
) -> list[R]:
    """Rows whose `done` mark is unset (and that meet `still_open`), oldest first, as `read`."""
    rows = session.scalars(
        select(table).where(done.is_(None), *still_open).order_by(table.id).limit(limit)
    )
    return [read.model_validate(row, from_attributes=True) for row in rows]


def mark(
    session: Session,
    table: Any,
    *,
    ids: Sequence[int],
    done: InstrumentedAttribute[datetime | None],
    now: datetime,
) -> None:
    """Set the `done` mark of the rows of `ids` not yet marked (a row is acted on once)."""
    for part in chunks(list(ids)):
        session.execute(
            update(table).where(table.id.in_(part), done.is_(None)).values({done.key: now})
        )
