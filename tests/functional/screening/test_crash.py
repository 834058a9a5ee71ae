"""A load killed with SIGKILL part-way through a file and run again ends in exactly the state of
one clean run: a real `python -m xietong screening …` process on a SQLite file and on a fresh
PostgreSQL database, fed through a named pipe so that the kill lands while the file is loading."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from tests.polling import PATIENCE
from xietong.areas import service as areas_service
from xietong.bootstrap import prepare_database
from xietong.config import Settings
from xietong.core.principal import SYSTEM
from xietong.core.wallclock import SystemClock
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.synthetic import synthetic_national_id
from xietong.screening import service
from xietong.screening.schemas import SiteCreate
from xietong.storage.engine import build_engine, normalise_url, session_factory
from xietong.storage.unit_of_work import unit_of_work

PERSONS = 300
SAMPLED = "2022-11-15T08:00:00+08:00"

# What a run leaves behind, without surrogate keys or the clock of the run.
STATE = {
    "tubes": "SELECT code, site_id, district_id, kind, pool_size, member_count, collected_at, "
    "round_day FROM screening_tube",
    "members": "SELECT t.code, m.person_id, m.round_day, m.district_id FROM screening_membership m "
    "JOIN screening_tube t ON t.id = m.tube_id",
    "results": "SELECT t.code, r.outcome, r.ct_value, r.lab_code, r.reported_at "
    "FROM screening_lab_result r JOIN screening_tube t ON t.id = r.tube_id",
    "conflicts": "SELECT t.code, c.outcome, c.fingerprint, c.status "
    "FROM screening_result_conflict c JOIN screening_tube t ON t.id = c.tube_id",
    "holds": "SELECT h.person_id, t.code, h.district_id, h.held_from, h.released_at "
    "FROM screening_hold h JOIN screening_tube t ON t.id = h.tube_id",
    "retests": "SELECT r.person_id, t.code, r.district_id, r.status FROM screening_retest_task r "
    "JOIN screening_tube t ON t.id = r.source_tube_id",
    "resamples": "SELECT t.code, r.status FROM screening_resample_task r "
    "JOIN screening_tube t ON t.id = r.tube_id",
    "candidates": "SELECT c.person_id, t.code FROM screening_case_candidate c "
    "JOIN screening_tube t ON t.id = c.tube_id",
    "needs": "SELECT n.person_id, n.reason, t.code, n.from_district_id, n.to_district_id "
    "FROM screening_referral_need n JOIN screening_tube t ON t.id = n.tube_id",
    "batches": "SELECT source, rows_read, applied, unchanged, conflicts "
    "FROM screening_result_batch",
}


def _prepare(url: str, workdir: Path) -> tuple[Path, Path]:
    """Areas, persons and a site committed; the tube and result files written."""
    engine = build_engine(url)
    prepare_database(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        areas_service.generate_synthetic_areas(
            session, buildings_per_district={"500103": 2, "500106": 2}, seed=3
        )
        codes = list(areas_service.iter_building_codes(session))
        lines = ["national_id,name,residence_building,current_building"]
        for i in range(PERSONS):
            number = synthetic_national_id(serial=i, birth=datetime(1980, 1, 1, tzinfo=UTC).date())
            # Every fifth lives in 500106 but is sampled here; every seventh stays in 500106.
            home = codes[2] if i % 5 == 0 else codes[0]
            stay = codes[3] if i % 7 == 0 else ""
            lines.append(f"{number},居民{i},{home},{stay}")
        people_service.import_persons(
            session, principal=SYSTEM, protector=protector, stream=io.StringIO("\n".join(lines))
        )
        service.create_site(
            session,
            principal=SYSTEM,
            site_in=SiteCreate(code="SITE-1", name="采样点", district_code="500103"),
            now=datetime.now(UTC),
        )
        person_ids = list(
            session.scalars(
                people_service.visible_persons(SYSTEM, at=datetime.now(UTC))
                .with_only_columns(Person.id)
                .order_by(Person.id)
            )
        )
    engine.dispose()
    tubes = workdir / "tubes.csv"
    rows = ["tube_code,site_code,collected_at,pool_size,person_id"]
    rows += [f"K{i // 2:04d},SITE-1,{SAMPLED},2,{pid}" for i, pid in enumerate(person_ids)]
    tubes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    results = workdir / "results.csv"
    lines = ["tube_code,result,ct_value,lab,reported_at"]
    for t in range(PERSONS // 2):
        outcome, ct = (
            ("positive", "28.5")
            if t % 25 == 5
            else ("invalid", "")
            if t % 40 == 7
            else ("negative", "")
        )
        lines.append(f"K{t:04d},{outcome},{ct},LAB-{t % 3},2022-11-15T11:00:00+08:00")
    lines.append("K0001,positive,30,LAB-9,2022-11-15T11:30:00+08:00")  # a conflict
    lines.append("K0002,negative,,LAB-2,2022-11-15T11:00:00+08:00")  # the same again
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tubes, results


def _run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xietong", "screening", *args],
        env={**os.environ, "XIETONG_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )


def _kill_part_way(url: str, command: str, source: Path, pipe: Path, batch_rows: int) -> None:
    """Feed the first half of `source` through a pipe; SIGKILL once a batch has been loaded."""
    os.mkfifo(pipe)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xietong",
            "screening",
            command,
            str(pipe),
            "--batch-rows",
            str(batch_rows),
        ],
        env={**os.environ, "XIETONG_DATABASE_URL": url},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    deadline = time.monotonic() + PATIENCE
    descriptor = None
    while descriptor is None:  # bounded poll: the reader opens the pipe once it has started
        try:
            descriptor = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the loader never opened its input")
            time.sleep(0.05)
    os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "w", encoding="utf-8") as writer:
        writer.writelines(lines[: len(lines) // 2])
        writer.flush()
        assert process.stderr is not None
        progress = process.stderr.readline()
        assert "rows read" in progress, progress
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def _state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        found = {
            name: sorted(tuple(row) for row in connection.execute(text(query)))
            for name, query in STATE.items()
        }
    engine.dispose()
    return found


@pytest.fixture(params=BACKENDS)
def two_databases(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str, Path]]:
    """The same prepared database twice: one to kill and re-run, one for a clean run."""
    if request.param == "sqlite":
        first = tmp_path / "killed.sqlite"
        yield f"sqlite:///{first}", f"sqlite:///{tmp_path / 'clean.sqlite'}", tmp_path
        return
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    clean_url, clean_name = _fresh_postgresql_database(PG_URL)
    yield url, clean_url, tmp_path
    _drop_postgresql_database(PG_URL, name)
    _drop_postgresql_database(PG_URL, clean_name)


def _clone(killed_url: str, clean_url: str) -> None:
    if killed_url.startswith("sqlite"):
        shutil.copyfile(make_url(killed_url).database or "", make_url(clean_url).database or "")
        return
    assert PG_URL is not None
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    template = make_url(normalise_url(killed_url)).database
    target = make_url(normalise_url(clean_url)).database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{target}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{template}"'))
    admin.dispose()


@pytest.mark.slow
def test_a_killed_load_run_again_ends_as_one_clean_run(
    two_databases: tuple[str, str, Path],
) -> None:
    killed, clean, workdir = two_databases
    tubes, results = _prepare(killed, workdir)
    _clone(killed, clean)

    _kill_part_way(killed, "tubes", tubes, workdir / "tubes.pipe", batch_rows=60)
    assert _state(killed)["tubes"] == []
    finished = _run(killed, "tubes", str(tubes), "--batch-rows", "60")
    assert finished.returncode == 0, finished.stderr
    _kill_part_way(killed, "results", results, workdir / "results.pipe", batch_rows=40)
    assert _state(killed)["results"] == []
    finished = _run(killed, "results", str(results), "--batch-rows", "40")
    assert finished.returncode == 0, finished.stderr

    for args in (("tubes", str(tubes)), ("results", str(results))):
        once = _run(clean, *args)
        assert once.returncode == 0, once.stderr

    after_kill, after_clean = _state(killed), _state(clean)
    assert after_kill == after_clean
    assert len(after_clean["members"]) == PERSONS
    assert len(after_clean["conflicts"]) == 1 and after_clean["holds"] and after_clean["needs"]
    assert after_clean["resamples"]
