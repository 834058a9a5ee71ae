"""A block of a test undone at its end (a savepoint rolled back), so that each example of a
property starts from what the test's fixtures made."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def undone(session: Session) -> Iterator[None]:
    nested = session.begin_nested()
    try:
        yield
    finally:
        nested.rollback()
