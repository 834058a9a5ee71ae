"""FastAPI dependencies for the database: one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xietong.storage.unit_of_work import unit_of_work


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the endpoint returns, rolled back if it raises."""
    with unit_of_work(request.app.state.session_factory) as session:
        yield session


# scope="function": the unit of work commits when the endpoint returns, before the response is
# sent, so that an answer the caller received is never lost to a crash that follows it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
