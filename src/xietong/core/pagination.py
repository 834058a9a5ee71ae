"""Every list is paginated: one shape for pages across the API, and the parameters that ask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 500


class PageParams(BaseModel):
    """Which page a list is asked for (`?limit=&offset=`)."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0)


class LongPageParams(PageParams):
    """A page of a list read whole more often than not (a day's plan, the public list)."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: Sequence[T], *, total: int, params: PageParams) -> Page[T]:
        """The page of `items` (of `total` in all) that `params` asked for."""
        return cls(items=list(items), total=total, limit=params.limit, offset=params.offset)
