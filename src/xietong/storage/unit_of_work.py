"""One unit of work per request, CLI command or job: services flush, the caller commits here.

The unit of work also carries the process's one clock (`clock_of`), for what a service stamps
without being about time (audit rows, access grants and tokens); a service whose act happens at
an instant takes that instant as `now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from xietong.core.clock import Clock

CLOCK_KEY = "xietong.clock"


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, clock: Clock) -> Iterator[Session]:
    """Yield a session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        bind_clock(session, clock)
        yield session


def bind_clock(session: Session, clock: Clock) -> None:
    """Give a session opened elsewhere (a test's, the twin's) the clock its services read."""
    session.info[CLOCK_KEY] = clock


def clock_of(session: Session) -> Clock:
    """The clock of the unit of work that opened `session`."""
    clock: Clock | None = session.info.get(CLOCK_KEY)
    if clock is None:
        raise RuntimeError("this session has no clock: open it with unit_of_work(..., clock=...)")
    return clock
