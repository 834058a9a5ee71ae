"""Test database per run, savepoint per test: SQLite always, PostgreSQL when
XIETONG_TEST_DATABASE_URL is set. Migrations are applied once per backend, which tests them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from xietong.api.app import create_app
from xietong.api.deps import get_read_session, get_session, get_session_factory
from xietong.areas import service as areas_service
from xietong.bootstrap import prepare_database
from xietong.config import Settings
from xietong.core.wallclock import SystemClock
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, normalise_url
from xietong.storage.unit_of_work import bind_clock


def pytest_configure(config: pytest.Config) -> None:
    # Commands print Rich tables sized to the terminal; a fixed width keeps their text whole in
    # tests whatever terminal (or none, in CI) runs them. Set before any console is created.
    os.environ["COLUMNS"] = "200"


# No test may depend on timing: properties run without a deadline on a loaded machine, and CI
# draws the same examples every run (a failure there is reproduced by running it again).
hypothesis_settings.register_profile("xietong", deadline=None)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("xietong"), derandomize=True, database=None
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "xietong")

PG_URL = os.environ.get("XIETONG_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
# Every district gets a few synthetic buildings, shared by all tests (read-only for them).
BUILDINGS_PER_DISTRICT = 6


def _fresh_postgresql_database(admin_url: str) -> tuple[str, str]:
    name = f"xietong_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalise_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgresql_database(admin_url: str, name: str) -> None:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def own_postgresql_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped after the block."""
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    try:
        yield url
    finally:
        _drop_postgresql_database(PG_URL, name)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "xietong-test.sqlite"
        yield f"sqlite:///{path}"
        return
    with own_postgresql_database() as url:
        yield url


def prepared_engine(url: str) -> Engine:
    """An engine on the migrated database at `url`, with the synthetic buildings."""
    engine = build_engine(url)
    prepare_database(engine)
    with Session(engine) as session, session.begin():
        codes = [d.code for d in areas_service.list_districts(session)]
        areas_service.generate_synthetic_areas(
            session,
            buildings_per_district=dict.fromkeys(codes, BUILDINGS_PER_DISTRICT),
            seed=1,
            buildings_per_community=3,
        )
    return engine


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = prepared_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    # What services stamp without being given a time (audit rows, grants) reads the wall here,
    # as it would in a command; a test that needs a fixed instant passes `now` itself.
    bind_clock(session, SystemClock())
    yield session
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Background workers (dispatcher, escalation) would contend for the test transaction's lock;
    # the tests that exercise them run a real server process.
    return Settings(database_url=database_url, run_workers=False)


@pytest.fixture
def protector(settings: Settings) -> PersonalDataProtector:
    return PersonalDataProtector.from_settings(settings)


@pytest.fixture
def app_client(settings: Settings, engine: Engine, session: Session) -> Iterator[TestClient]:
    """The real application on the test's transaction: each request is a savepoint."""
    app = create_app(settings, engine=engine)

    def request_session() -> Iterator[Session]:
        nested = session.begin_nested()
        try:
            yield session
        except Exception:
            nested.rollback()
            raise
        else:
            nested.commit()

    def background_sessions() -> sessionmaker[Session]:
        # A background task's unit of work is a savepoint of the test's transaction too: it sees
        # what the request wrote and is undone with the test.
        return sessionmaker(
            bind=session.connection(),
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )

    app.dependency_overrides[get_session] = request_session
    app.dependency_overrides[get_read_session] = request_session
    app.dependency_overrides[get_session_factory] = background_sessions
    with TestClient(app) as client:
        yield client
