"""The MLLP listener as a real process (`python -m xietong labs listen`) on a SQLite file and on
a fresh PostgreSQL database, spoken to by a real TCP client (python-hl7's MLLP client): each
message is answered in order, and a listener killed with SIGKILL mid-stream has stored every
message it acknowledged."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hl7.mllp import open_hl7_connection
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from tests.factories.people import next_national_id
from xietong.areas import service as areas_service
from xietong.bootstrap import prepare_database
from xietong.config import Settings
from xietong.core.principal import SYSTEM
from xietong.core.wallclock import SystemClock
from xietong.interop import hl7v2
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service as screening_service
from xietong.screening.schemas import SiteCreate, TubeBatch, TubeIn
from xietong.storage.engine import build_engine, normalise_url, session_factory
from xietong.storage.unit_of_work import unit_of_work

TUBES = 240
SAMPLED = datetime(2022, 11, 15, 0, 0, tzinfo=UTC)
REPORTED = SAMPLED + timedelta(hours=3)


def code(t: int) -> str:
    return f"M{t:05d}"


def _prepare(url: str) -> None:
    """Areas, persons, a site and TUBES tubes of two, committed."""
    engine = build_engine(url)
    prepare_database(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        areas_service.generate_synthetic_areas(
            session, buildings_per_district={"500103": 2}, seed=3
        )
        building = next(iter(areas_service.iter_building_codes(session)))
        lines = ["national_id,name,residence_building"]
        lines += [f"{next_national_id()},居民,{building}" for _ in range(2 * TUBES)]
        people_service.import_persons(
            session, principal=SYSTEM, protector=protector, stream=io.StringIO("\n".join(lines))
        )
        screening_service.create_site(
            session,
            principal=SYSTEM,
            site_in=SiteCreate(code="SITE-1", name="采样点", district_code="500103"),
            now=REPORTED,
        )
        ids = sorted(session.execute(text("SELECT id FROM people_person")).scalars().all())
        screening_service.register_tubes(
            session,
            principal=SYSTEM,
            batch=TubeBatch(
                tubes=[
                    TubeIn(
                        tube_code=code(t),
                        site_code="SITE-1",
                        collected_at=SAMPLED,
                        pool_size=10,
                        person_ids=ids[2 * t : 2 * t + 2],
                    )
                    for t in range(TUBES)
                ]
            ),
            tz="Asia/Shanghai",
            now=REPORTED,
        )
    engine.dispose()


def message(t: int) -> str:
    outcome = "positive" if t % 50 == 7 else "negative"
    return hl7v2.result_message(
        control_id=f"C{t:05d}",
        tube_code=code(t),
        outcome=outcome,
        lab="LAB-01",
        reported_at=REPORTED,
        collected_at=SAMPLED,
        ct=30.0 if outcome == "positive" else None,
        pooled=True,
    )


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mllp.sqlite'}"
        _prepare(url)
        yield url
        return
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    _prepare(url)
    yield url
    _drop_postgresql_database(PG_URL, name)


def _start(url: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "xietong", "labs", "listen", "--port", "0", *extra],
        env={**os.environ, "XIETONG_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the listener is bound (or has died)
    if "listening for MLLP on" not in line:
        process.kill()
        pytest.fail(f"the listener did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def _stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


def _stored(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        found = set(
            connection.execute(
                text(
                    "SELECT t.code FROM screening_lab_result r "
                    "JOIN screening_tube t ON t.id = r.tube_id"
                )
            ).scalars()
        )
    engine.dispose()
    return found


def _msa(ack: str) -> str:
    return next(s for s in ack.split("\r") if s.startswith("MSA|"))


@pytest.mark.slow
def test_the_listener_answers_a_real_socket_client_message_by_message(database: str) -> None:
    process, port = _start(database)
    bad = message(1).replace("462371000124108", "840539006").replace("895231008", "840539006")

    async def talk() -> list[str]:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        answers = []
        for outgoing in (message(0), bad, message(0), message(2)):
            writer.writeblock(outgoing.encode())
            await writer.drain()
            answers.append((await reader.readblock()).decode())
        writer.close()
        await writer.wait_closed()
        return answers

    try:
        answers = asyncio.run(talk())
    finally:
        _stop(process)
    assert [_msa(a) for a in answers] == [
        "MSA|AA|C00000",
        "MSA|AE|C00001",
        "MSA|AA|C00000",
        "MSA|AA|C00002",
    ]
    assert "ERR||OBX^1^5^1^1|103^" in answers[1]
    assert _stored(database) == {code(0), code(2)}


@pytest.mark.slow
def test_a_listener_killed_mid_stream_has_stored_every_message_it_acknowledged(
    database: str,
) -> None:
    process, port = _start(database, "--batch", "10")
    acknowledged: list[str] = []

    async def stream_until_killed() -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", port)

        async def send() -> None:
            for t in range(TUBES):
                writer.writeblock(message(t).encode())
                await writer.drain()

        sender = asyncio.get_running_loop().create_task(send())
        try:
            while True:
                ack = (await reader.readblock()).decode()
                msa = _msa(ack).split("|")
                assert msa[1] == "AA", ack
                acknowledged.append(msa[2])
                if len(acknowledged) == TUBES // 4:
                    process.send_signal(signal.SIGKILL)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        sender.cancel()
        writer.close()

    asyncio.run(stream_until_killed())
    _stop(process, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) < TUBES, "the kill came after the last message: nothing tested"
    stored = _stored(database)
    assert {code(int(c[1:])) for c in acknowledged} <= stored
    # The sender sends again what was not acknowledged; what was stored after all is unchanged.
    process, port = _start(database)

    async def resend() -> list[str]:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        answers = []
        for t in range(TUBES):
            if f"C{t:05d}" not in acknowledged:
                writer.writeblock(message(t).encode())
                await writer.drain()
                answers.append(_msa((await reader.readblock()).decode()))
        writer.close()
        return answers

    try:
        answers = asyncio.run(resend())
    finally:
        _stop(process)
    assert all(a.startswith("MSA|AA|") for a in answers)
    assert _stored(database) == {code(t) for t in range(TUBES)}
