"""A real server for end-to-end tests: a fresh database (a SQLite file, or a new PostgreSQL
database), prepared with districts, buildings, persons, users and a webhook endpoint, and
`python -m xietong serve` started, killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.factories.people import next_national_id
from tests.polling import health, poll_until
from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.auth.schemas import UserCreate
from xietong.bootstrap import prepare_database
from xietong.config import Settings
from xietong.core.principal import SYSTEM, Role
from xietong.core.wallclock import SystemClock
from xietong.outbox import service as outbox_service
from xietong.outbox.addresses import parse_networks
from xietong.outbox.schemas import EndpointCreate
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, normalise_url
from xietong.storage.unit_of_work import bind_clock

PG_URL = os.environ.get("XIETONG_TEST_DATABASE_URL")
SENDER, RECEIVER, THIRD = "500106", "500108", "500112"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(
    backend: str, folder: Path, admin_url: str | None = PG_URL
) -> tuple[str, str | None]:
    """A URL of a new, empty database, and the PostgreSQL database name to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'live.sqlite'}", None
    assert admin_url is not None
    name = f"xietong_live_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(admin_url)).set(database=name).render_as_string(
        hide_password=False
    ), name


def drop_database(name: str | None, admin_url: str | None = PG_URL) -> None:
    if name is None or admin_url is None:
        return
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class City:
    """What the tests need from the prepared database."""

    url: str
    person_ids: list[int]
    tokens: dict[str, str]
    endpoint_secret: str = ""


def prepare_city(url: str, *, persons: int, webhook_url: str | None) -> City:
    """Districts, a few buildings, `persons` living in RECEIVER and found in SENDER, users."""
    engine = build_engine(url)
    prepare_database(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    tokens: dict[str, str] = {}
    with Session(engine) as session, session.begin():
        bind_clock(session, SystemClock())
        areas_service.generate_synthetic_areas(
            session,
            buildings_per_district={SENDER: 3, RECEIVER: 3, THIRD: 3},
            seed=3,
            buildings_per_community=3,
        )
        home = areas_service.list_buildings(
            session,
            district_id=areas_service.get_district(session, code=RECEIVER).id,
            limit=1,
            offset=0,
        )[0][0][0]
        stay = areas_service.list_buildings(
            session,
            district_id=areas_service.get_district(session, code=SENDER).id,
            limit=1,
            offset=0,
        )[0][0][0]
        first_id = people_service.next_person_id(session)
        people_service.register_many(
            session,
            principal=SYSTEM,
            protector=protector,
            persons=(
                people_service.NewPerson(
                    national_id=next_national_id(),
                    name=f"居民{i}",
                    phone=f"139{i:08d}",
                    residence_building_id=home.id,
                    residence_district_id=home.district_id,
                    current_building_id=stay.id,
                    current_district_id=stay.district_id,
                )
                for i in range(persons)
            ),
            source_name="live test",
            first_id=first_id,
        )
        person_ids = list(range(first_id, first_id + persons))
        for name, role, code in (
            ("sender", Role.district_coordinator, SENDER),
            ("receiver", Role.district_coordinator, RECEIVER),
            ("third", Role.district_coordinator, THIRD),
            ("command", Role.command, None),
        ):
            user = auth_service.create_user(
                session,
                user_in=UserCreate(username=f"live-{name}", role=role, district_code=code),
                district_id=areas_service.district_id_of(session, code=code),
                now=datetime.now(UTC),
            )
            tokens[name] = auth_service.issue_token(session, user=user)
        secret = ""
        if webhook_url is not None:
            secret = "live-receiver-shared-secret"
            outbox_service.create_endpoint(
                session,
                principal=SYSTEM,
                protector=protector,
                endpoint_in=EndpointCreate(
                    url=webhook_url,  # type: ignore[arg-type]
                    district_code=RECEIVER,
                    secret=secret,
                    topics=["referral."],
                ),
                now=datetime.now(UTC),
                allowed_networks=parse_networks(["127.0.0.0/8"]),
            )
    engine.dispose()
    return City(url=url, person_ids=person_ids, tokens=tokens, endpoint_secret=secret)


@dataclass
class Server:
    """`python -m xietong serve` on a database, as the operations team runs it."""

    url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log: Path | None = None
    _handle: TextIO | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {
            **os.environ,
            "XIETONG_DATABASE_URL": self.url,
            "COLUMNS": "200",
            # The test's webhook receiver listens on loopback.
            "XIETONG_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        }
        self._close_log()
        self._handle = open(self.log, "a") if self.log else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xietong", "serve", "--port", str(self.port)],
            env=env,
            stdout=self._handle or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            poll_until(lambda: health(self.base), what="the server's start", process=self.process)
        except AssertionError as failed:
            log = self.log and self.log.read_text()[-3000:]
            raise AssertionError(f"server did not start: {log}") from failed
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()
