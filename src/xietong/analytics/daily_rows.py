"""Reading a table kept per district and local day (aggregates, official counts): one district's
rows if asked, within a range of days, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.analytics.models import DailyAggregate, OfficialCount
from xietong.storage.paging import paged

Row = TypeVar("Row", DailyAggregate, OfficialCount)


@dataclass(frozen=True)
class DistrictDays:
    """Which rows a list asks for: one district (all when None) between two days (open ends)."""

    district_id: int | None = None
    first_day: date | None = None
    last_day: date | None = None


def list_rows(
    session: Session,
    model: type[Row],
    *,
    wanted: DistrictDays,
    order_by: Any,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """The page of `model`'s rows that `wanted` names, in `order_by` order, and their count."""
    query = select(model)
    if wanted.district_id is not None:
        query = query.where(model.district_id == wanted.district_id)
    if wanted.first_day is not None:
        query = query.where(model.day >= wanted.first_day)
    if wanted.last_day is not None:
        query = query.where(model.day <= wanted.last_day)
    return paged(session, query, order_by=order_by, limit=limit, offset=offset)
