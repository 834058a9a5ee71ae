"""List pages: the request (who is asking, which page of rows, whether as CSV) and the page.

Every list page reads its page (`limit`, `offset`) and its CSV choice (`format=csv`) here and runs
behind the same guard, so a page keeps only its own filters, its query and its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.core.pagination import MAX_PAGE_SIZE
from xietong.core.principal import Principal, Role
from xietong.web.pages.common import guard
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
# A CSV is the whole list up to this many rows, whatever page the screen was on.
EXPORT_ROWS = 5_000


def clamp_limit(limit: int | None) -> int:
    if limit is None or limit < 1:
        return DEFAULT_PAGE_SIZE
    return min(limit, MAX_PAGE_SIZE)


@dataclass(frozen=True)
class Paging(Generic[T]):
    """One page of a list with what the pager needs."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def paginate_list(items: Sequence[T], *, limit: int, offset: int) -> Paging[T]:
    """Page a short list already in memory (e.g. 41 districts, a day's plan)."""
    return Paging(list(items[offset : offset + limit]), len(items), limit, offset)


@dataclass(frozen=True)
class ListRequest:
    """The viewer and session of a list page, the page of rows asked for, and the CSV choice."""

    viewer: Viewer
    session: Session
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0
    exporting: bool = False

    def guard(
        self, build: Callable[[Principal], Response], *, roles: Sequence[Role] | None = None
    ) -> Response:
        """Build the page for a logged-in principal (of one of `roles`), as `common.guard`."""
        return guard(self.viewer, self.session, build, roles=roles)

    def page(self, items: Sequence[T], total: int) -> Paging[T]:
        """The page of a list read a page at a time (`items`, of `total` in all)."""
        return Paging(list(items), total, self.limit, self.offset)

    def page_of(self, items: Sequence[T]) -> Paging[T]:
        """The page of a whole list already in memory."""
        return paginate_list(items, limit=self.limit, offset=self.offset)

    def query(self, filters: Mapping[str, object]) -> dict[str, object]:
        """The filters with the page: what the pager's and the CSV's links carry."""
        return {**filters, "limit": self.limit, "offset": self.offset}

    def render(
        self,
        template: str,
        page: Paging[Any],
        *,
        filters: Mapping[str, object],
        context: Mapping[str, Any],
        as_of: datetime | None = None,
        status_code: int = 200,
    ) -> Response:
        """`page` in `template`, the filters shown as chosen (`filter`) and kept by its links."""
        query = self.query(filters)
        full = {"page": page, "filter": query, **context}
        return render(
            self.viewer,
            self.session,
            template,
            full,
            query=query,
            as_of=as_of,
            status_code=status_code,
        )


def _list_request(
    viewer: ViewerDep, session: SessionDep, limit: int | None = None, offset: int | None = None
) -> ListRequest:
    return ListRequest(viewer, session, clamp_limit(limit), max(0, offset or 0))


def _exportable_request(
    viewer: ViewerDep,
    session: SessionDep,
    limit: int | None = None,
    offset: int | None = None,
    format: str | None = None,
) -> ListRequest:
    if format == "csv":
        return ListRequest(viewer, session, EXPORT_ROWS, 0, exporting=True)
    return _list_request(viewer, session, limit, offset)


# A list shown a page at a time.
ListPage = Annotated[ListRequest, Depends(_list_request)]
# A list shown a page at a time, or as a CSV of all its rows (`format=csv`).
ExportableListPage = Annotated[ListRequest, Depends(_exportable_request)]
