"""A real streaming replica, started by the test on this machine (initdb, `pg_basebackup -R` into
a temporary folder, a second server on another port, both on 127.0.0.1): dashboards' and lists'
reads go to it; a client's own writes are read from the primary until the replica has replayed
them; a replica too far behind or down sends reads to the primary."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.factories.auth import command_user
from tests.polling import poll_until
from xietong.api.app import create_app
from xietong.bootstrap import prepare_database
from xietong.config import Settings
from xietong.core.wallclock import SystemClock
from xietong.storage.engine import build_engine, session_factory
from xietong.storage.replica import READ_FROM, WRITTEN_LSN, ReadRouting, parse_lsn
from xietong.storage.unit_of_work import unit_of_work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_bin() -> Path | None:
    found = shutil.which("initdb")
    if found is None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        found = str(candidates[-1]) if candidates else None
    return Path(found).resolve().parent if found else None


@dataclass
class Cluster:
    bin: Path
    folder: Path
    as_postgres: list[str]

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, text=True)

    def url(self, port: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Cluster, int, int]]:
    bindir = _server_bin()
    if bindir is None:
        pytest.skip("the PostgreSQL server programs (initdb, pg_ctl) are not installed")
    # PostgreSQL refuses to run as root: as root, the servers run as the postgres account.
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="xietong-replica-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    c = Cluster(bindir, folder, as_postgres)
    primary, replica = folder / "primary", folder / "replica"
    primary_port, replica_port = _free_port(), _free_port()
    c.run(str(bindir / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync")
    settings = (
        f"port = {primary_port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{folder}'\nwal_level = replica\nmax_wal_senders = 4\n"
        "fsync = off\n"
    )
    c.run("sh", "-c", f'printf "%s" "{settings}" >> {primary / "postgresql.auto.conf"}')
    started: list[Path] = []
    try:
        c.run(
            str(bindir / "pg_ctl"), "-D", str(primary), "-l", str(folder / "p.log"), "-w", "start"
        )
        started.append(primary)
        c.run(
            str(bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
            *("-D", str(replica), "-R", "-X", "stream"),
        )
        c.run(
            str(bindir / "pg_ctl"),
            *("-D", str(replica), "-l", str(folder / "r.log"), "-o", f"-p {replica_port}"),
            *("-w", "start"),
        )
        started.append(replica)
        yield c, primary_port, replica_port
    finally:
        for data in reversed(started):
            subprocess.run(
                [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_replayed(routing: ReadRouting) -> None:
    target = parse_lsn(routing.written_position())

    def replayed() -> bool | None:
        state = routing.state(fresh=True)
        return True if state.reachable and state.replayed >= target else None

    poll_until(replayed, what="the replica's replay")


OFFICIAL = "district,day,new_confirmed,new_asymptomatic\n500106,2022-11-14,{n},3\n"


@pytest.mark.slow
def test_reads_go_to_the_replica_unless_it_would_answer_wrong(
    cluster: tuple[Cluster, int, int],
) -> None:
    c, primary_port, replica_port = cluster
    engine = build_engine(c.url(primary_port))
    prepare_database(engine)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        _, token = command_user(session)
    settings = Settings(
        database_url=c.url(primary_port), read_replica_url=c.url(replica_port), run_workers=False
    )
    app = create_app(settings, engine=engine)
    routing: ReadRouting = app.state.read_routing
    routing.check_every = 0.0  # check the replica on every read: no clock in the test
    headers = {"Authorization": f"Bearer {token}"}
    replica_admin = create_engine(c.url(replica_port), isolation_level="AUTOCOMMIT")

    def listed(extra: dict[str, str] | None = None) -> tuple[str, int]:
        answer = client.get("/api/analytics/official-counts", headers={**headers, **(extra or {})})
        assert answer.status_code == 200, answer.text
        return answer.headers[READ_FROM], answer.json()["total"]

    with TestClient(app) as client:
        _wait_until_replayed(routing)
        assert listed() == ("replica", 0)

        # The replica stops replaying: a client's own write is read from the primary.
        with replica_admin.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_pause()"))
        upload = {"file": ("counts.csv", OFFICIAL.format(n=7), "text/csv")}
        posted = client.post("/api/analytics/official-counts", files=upload, headers=headers)
        assert posted.status_code == 200, posted.text
        written = posted.headers[WRITTEN_LSN]
        assert listed({WRITTEN_LSN: written}) == ("primary", 1)
        client.cookies.clear()
        assert listed() == ("replica", 0)  # another client may read the replica's older state

        # Too far behind: every read goes to the primary.
        routing.max_lag_bytes = 0
        assert listed() == ("primary", 1)
        routing.max_lag_bytes = 16 * 2**20

        # Replaying again, the replica serves the writer too once it holds the write.
        with replica_admin.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        _wait_until_replayed(routing)
        assert listed({WRITTEN_LSN: written}) == ("replica", 1)

        # Writes through a read session fail on the replica and on the primary alike.
        for source in ("replica", "primary"):
            factory = app.state.read_session_factories[source]
            with (
                pytest.raises(Exception, match="read-only"),
                unit_of_work(factory, clock=SystemClock()) as session,
            ):
                session.execute(text("CREATE TABLE nope (x int)"))

        # The replica goes down: reads go on, from the primary.
        c.run(str(c.bin / "pg_ctl"), "-D", str(c.folder / "replica"), "-m", "fast", "stop")
        assert listed() == ("primary", 1)
    replica_admin.dispose()
    engine.dispose()
