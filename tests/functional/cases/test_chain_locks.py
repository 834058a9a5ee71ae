"""Links written into the same chain at the same moment by two transactions follow one another:
the second waits for the first's lock on the chain's root, then reads the roots again, so no
stored root goes stale and no pair of links closes a cycle between them.

Two real connections on PostgreSQL, in a database of their own (the rows must be committed for
the other connection to see them). SQLite is skipped: its second writer waits at BEGIN IMMEDIATE
for the first to commit before it reads anything, so the two never meet inside a link.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.conftest import BACKENDS, own_postgresql_database, prepared_engine
from tests.factories.cases import at, link, make_case
from tests.functional.cases.test_chain_roots import assert_roots_true
from tests.polling import PATIENCE, poll_until
from xietong.cases.links.batch import link_cases
from xietong.cases.models import Case, TransmissionLink
from xietong.cases.schemas import LinkCreate
from xietong.config import Settings
from xietong.core.errors import Conflict
from xietong.core.principal import SYSTEM
from xietong.core.wallclock import SystemClock
from xietong.people.protection import PersonalDataProtector
from xietong.storage.unit_of_work import bind_clock


@pytest.fixture(scope="module", params=BACKENDS)
def own_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        pytest.skip("SQLite serialises writers from BEGIN IMMEDIATE: two links never interleave")
    with own_postgresql_database() as url:
        engine = prepared_engine(url)
        yield engine
        engine.dispose()


def _session(engine: Engine) -> Session:
    session = Session(engine, expire_on_commit=False)
    bind_clock(session, SystemClock())
    return session


def _committed_cases(engine: Engine, count: int) -> list[Case]:
    protector = PersonalDataProtector.from_settings(
        Settings(database_url=engine.url.render_as_string(hide_password=False))
    )
    with _session(engine) as session, session.begin():
        return [make_case(session, protector) for _ in range(count)]


def _waits_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def _race(
    engine: Engine, *, first: Callable[[Session], object], second: Callable[[Session], object]
) -> tuple[bool, Exception | None]:
    """Run `first` in a transaction left open, then `second` in another thread's transaction;
    once the second waits for a lock (or is done), commit the first. Whether the second waited,
    and its error if any."""
    failed: list[Exception] = []

    def run_second() -> None:
        try:
            with _session(engine) as session, session.begin():
                second(session)
        except Exception as error:
            failed.append(error)

    with _session(engine) as session, session.begin():
        first(session)
        thread = threading.Thread(target=run_second)
        thread.start()
        poll_until(
            lambda: True if _waits_for_a_lock(engine) or not thread.is_alive() else None,
            what="the second link waiting for the first one's lock",
        )
        waited = thread.is_alive()
    thread.join(PATIENCE)
    assert not thread.is_alive()
    return waited, failed[0] if failed else None


def _link_in(source: Case, target: Case) -> LinkCreate:
    return LinkCreate(
        source_case_id=source.id,
        target_case_id=target.id,
        evidence_kind="household",
        evidence="同住 (lives with the source)",
    )


def _every_stored_root_is_the_walked_one(engine: Engine) -> None:
    with _session(engine) as session:
        assert_roots_true(session, list(session.scalars(select(Case.id))))


def test_a_case_linked_below_a_chain_whose_root_moves_meanwhile_gets_the_new_root(
    own_engine: Engine,
) -> None:
    root, below, new_root, infectee = _committed_cases(own_engine, 4)
    with _session(own_engine) as session, session.begin():
        link(session, root, below)

    waited, error = _race(
        own_engine,
        # The chain of `root` moves under `new_root` ...
        first=lambda session: link(session, new_root, root),
        # ... while a batch links `infectee` below `below`, read as in that chain.
        second=lambda session: link_cases(
            session, principal=SYSTEM, links=[_link_in(below, infectee)], now=at()
        ),
    )

    assert error is None
    with _session(own_engine) as session:
        assert session.scalar(select(Case.chain_root_id).where(Case.id == infectee.id)) == (
            new_root.id
        )
    _every_stored_root_is_the_walked_one(own_engine)
    assert waited


def test_of_two_links_made_at_once_in_opposite_directions_the_second_closes_a_cycle(
    own_engine: Engine,
) -> None:
    one, other = _committed_cases(own_engine, 2)

    waited, error = _race(
        own_engine,
        first=lambda session: link(session, one, other),
        second=lambda session: link(session, other, one),
    )

    assert isinstance(error, Conflict)
    assert error.code == "link_cycle"
    with _session(own_engine) as session:
        made = session.execute(
            select(TransmissionLink.source_case_id, TransmissionLink.target_case_id).where(
                TransmissionLink.target_case_id.in_((one.id, other.id))
            )
        ).all()
        assert [tuple(row) for row in made] == [(one.id, other.id)]
    _every_stored_root_is_the_walked_one(own_engine)
    assert waited
