"""One page of a query and the number of rows it has in all: every paginated list reads this way."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def paged(
    session: Session, query: Select[T], *, order_by: Any, limit: int, offset: int
) -> tuple[list[T], int]:
    """The rows `offset` to `offset + limit` of `query` in `order_by` order, and its count."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return list(rows), total
