"""The daily lifting evaluation over 100,000 buildings with 60 days of case and screening history.

Usage: .venv/bin/python -m benchmarks.zones_rules [--buildings 100000] [--days 60]
       [--postgres-url URL] [--skip-sqlite]
The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL; a fresh database is created and dropped.

Worst case on purpose: every building is an active high-risk area, designated on a random day of
the history, its clean-day count last restarted within the last six days; about 3,000
infections a day (the reference outbreak's scale) fall on random buildings; 98 % of
building-days had a complete negative round. The figure is the whole
`zones.tasks.evaluate_day` for the last day — the areas query, the window's infections, the
candidates' screening, the vectorised rules and the set-based proposals with their events and
notices — timed in a transaction (median of three, rolled back), then once more committed; before
each, the tables are tidied as autovacuum would (VACUUM ANALYZE on PostgreSQL). The processor time
of this process is printed too, and on PostgreSQL that of the server process serving it (from
/proc): on a loaded machine they move less than the elapsed time, and the load average is printed
with them.

The screening comes from a stand-in table of (building, day) with a complete negative round,
asked in the contract's shape (`buildings_negative_throughout`: the buildings negative on every day
of the window, which the database answers by grouping), because the screening domain's own
aggregation of tubes is not part of this figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Engine,
    MetaData,
    Table,
    select,
    text,
)
from sqlalchemy.orm import Session

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock

LAST_DAY = date(2022, 11, 30)
INFECTIONS_PER_DAY = 3_000
NEGATIVE_SHARE = 0.98

_bench_metadata = MetaData()
NEGATIVE_SCREENING = Table(
    "bench_negative_screening",
    _bench_metadata,
    # By building first: the evaluation asks about its candidate buildings over a few days.
    Column("building_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True, index=True),
)


def buildings_negative_throughout(
    session: Session, *, building_ids: Collection[int], first_day: date, last_day: date
) -> set[int]:
    """The stand-in for screening's function, answered in SQL: the buildings asked for with a
    complete negative round on each day of the window, one row per building."""
    # Each building asked for is looked up by its (building, day) key, through the driver's own
    # cursor: an indexed source, as the screening domain's would be.
    window = (last_day - first_day).days + 1
    if session.get_bind().dialect.name == "sqlite":
        statement = (
            "SELECT s.building_id FROM json_each(?) AS wanted "
            "JOIN bench_negative_screening AS s ON s.building_id = wanted.value "
            "WHERE s.day >= ? AND s.day <= ? GROUP BY s.building_id HAVING count(*) = ?"
        )
        parameters: tuple[Any, ...] = (
            json.dumps(sorted(building_ids)),
            first_day.isoformat(),
            last_day.isoformat(),
            window,
        )
    else:
        statement = (
            "SELECT s.building_id FROM unnest(%s::bigint[]) AS wanted(id) "
            "JOIN bench_negative_screening AS s ON s.building_id = wanted.id "
            "WHERE s.day >= %s AND s.day <= %s GROUP BY s.building_id HAVING count(*) = %s"
        )
        parameters = (sorted(building_ids), first_day, last_day, window)
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(statement, parameters)
        return {building_id for (building_id,) in cursor.fetchall()}
    finally:
        cursor.close()


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # 12:00 in Chongqing


def populate(engine: Engine, *, buildings: int, days: int, seed: int = 0) -> dict[str, int]:
    """Buildings, persons, areas, infections and screening days; returns the counts."""
    from xietong.areas import service as areas_service
    from xietong.areas.models import Building
    from xietong.bootstrap import prepare_database
    from xietong.people.models import Person
    from xietong.storage.bulk import bulk_insert
    from xietong.storage.engine import session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.zones.models import BuildingInfection, RiskArea

    prepare_database(engine)
    _bench_metadata.create_all(engine)
    rng = np.random.default_rng(seed)
    first_day = LAST_DAY - timedelta(days=days - 1)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        districts = areas_service.list_districts(session)
        total = sum(d.population or 0 for d in districts)
        per_district = {
            d.code: max(1, round(buildings * (d.population or 0) / total)) for d in districts
        }
        areas_service.generate_synthetic_areas(session, buildings_per_district=per_district)
        rows = session.execute(select(Building.id, Building.district_id).order_by(Building.id))
        ids, district_ids = (
            np.asarray(column, dtype=np.int64) for column in zip(*rows, strict=True)
        )
    count = len(ids)
    infections = INFECTIONS_PER_DAY * days * count // 100_000
    infected_row = rng.integers(0, count, size=infections)
    infected_day = rng.integers(0, days, size=infections)
    active_day = rng.integers(0, days, size=count)
    # The last restart of each count (designation, rejected lifting) within the last six days,
    # so that about one area in six can reach its fifth clean day on the evaluated day.
    restart_day = np.maximum(active_day, days - 1 - rng.integers(0, 6, size=count))
    created = _noon(LAST_DAY)

    def persons() -> Iterator[tuple[Any, ...]]:
        for i, row in enumerate(infected_row.tolist()):
            yield (
                uuid.UUID(int=i + 1).bytes * 2,
                "500199**********0X",
                b"x",
                None,
                None,
                None,
                int(ids[row]),
                int(district_ids[row]),
                int(ids[row]),
                int(district_ids[row]),
                created,
                created,
            )

    def areas() -> Iterator[tuple[Any, ...]]:
        for row in range(count):
            day = first_day + timedelta(days=int(active_day[row]))
            restart = first_day + timedelta(days=int(restart_day[row]))
            yield (
                int(ids[row]), int(district_ids[row]), "high", "active", "designation",
                "benchmark", "2022-11-11", _noon(day), "system", _noon(day), "system",
                day, restart, created, created,
            )  # fmt: skip

    def cases(first_person: int) -> Iterator[tuple[Any, ...]]:
        for i, (row, offset) in enumerate(
            zip(infected_row.tolist(), infected_day.tolist(), strict=True)
        ):
            day = first_day + timedelta(days=offset)
            yield (
                int(ids[row]), int(district_ids[row]), first_person + i, None, _noon(day), day,
                False, created,
            )  # fmt: skip

    def screened() -> Iterator[tuple[Any, ...]]:
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            negative = rng.random(count) < NEGATIVE_SHARE
            for building_id in ids[negative].tolist():
                yield (building_id, day)

    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        bulk_insert(
            session,
            Person.__table__,  # type: ignore[arg-type]
            ["id_hash", "id_masked", "name_enc", "phone_enc", "birth_date", "sex",
             "residence_building_id", "residence_district_id", "current_building_id",
             "current_district_id", "created_at", "updated_at"],
            persons(),
        )  # fmt: skip
        first_person = int(session.scalar(text("SELECT MIN(id) FROM people_person")) or 1)
        bulk_insert(
            session,
            RiskArea.__table__,  # type: ignore[arg-type]
            ["building_id", "district_id", "level", "status", "origin", "reason",
             "policy_version", "proposed_at", "proposed_by", "decided_at", "decided_by",
             "active_from", "countdown_from", "created_at", "updated_at"],
            areas(),
        )  # fmt: skip
        bulk_insert(
            session,
            BuildingInfection.__table__,  # type: ignore[arg-type]
            ["building_id", "district_id", "person_id", "case_id", "detected_at", "day",
             "on_surface", "created_at"],
            cases(first_person),
            skip_conflicts_on=["person_id", "building_id"],
        )  # fmt: skip
        screening_rows = bulk_insert(
            session, NEGATIVE_SCREENING, ["building_id", "day"], screened()
        )
    _tidy(engine, "")
    return {"buildings": count, "infections": infections, "negative_building_days": screening_rows}


def _tidy(engine: Engine, tables: str) -> None:
    """What autovacuum does on a server after a day's writes: on PostgreSQL, VACUUM ANALYZE (the
    visibility map, so that the screening read is index-only, and the space of the versions a
    rolled-back trial left, so that each trial finds the pages as the last committed day left
    them); ANALYZE on SQLite. The test server runs with autovacuum off."""
    if engine.dialect.name != "postgresql":
        if not tables:
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM ANALYZE {tables}".strip()))


def evaluate_once(engine: Engine, *, commit: bool) -> dict[str, Any]:
    from xietong.storage.engine import session_factory
    from xietong.zones import tasks

    factory = session_factory(engine)
    screening_seconds = 0.0

    def timed_source(session: Session, **kwargs: Any) -> set[int]:
        nonlocal screening_seconds
        started = time.perf_counter()
        found = buildings_negative_throughout(session, **kwargs)
        screening_seconds += time.perf_counter() - started
        return found

    _tidy(engine, "zones_risk_area, zones_risk_area_event, outbox_message")
    session = factory()
    started = time.perf_counter()
    processor_started = time.process_time()
    try:
        with session.begin():
            server = _ServerClock(session)
            report = tasks.evaluate_day(
                session,
                day=LAST_DAY,
                now=_noon(LAST_DAY) + timedelta(hours=12),
                screened_throughout=timed_source,
            )
            session.flush()
            server_seconds = server.seconds()
            if not commit:
                session.rollback()
        elapsed = time.perf_counter() - started
        processor = time.process_time() - processor_started
    finally:
        session.close()
    return {
        "seconds": elapsed,
        "processor_seconds": processor,
        "server_seconds": server_seconds,
        "screening_seconds": screening_seconds,
        "areas_evaluated": report.areas_evaluated,
        "liftings_proposed": len(report.liftings_proposed),
    }


class _ServerClock:
    """The processor time of the PostgreSQL server process serving the session, from /proc
    (the server runs on this machine); zero on SQLite, whose work is this process's."""

    def __init__(self, session: Session) -> None:
        self.stat: Path | None = None
        if session.get_bind().dialect.name == "postgresql":
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            stat = Path(f"/proc/{pid}/stat")
            self.stat = stat if stat.exists() else None
        self.started = self._now()

    def _now(self) -> float:
        if self.stat is None:
            return 0.0
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        return self._now() - self.started


def run_backend(url: str, *, buildings: int, days: int) -> dict[str, Any]:
    from xietong.storage.engine import build_engine

    engine = build_engine(url)
    try:
        started = time.perf_counter()
        counts = populate(engine, buildings=buildings, days=days)
        setup = time.perf_counter() - started
        trials = [evaluate_once(engine, commit=False) for _ in range(3)]
        committed = evaluate_once(engine, commit=True)
        # The same day once more: every due area is proposed already, nothing is written.
        again = [evaluate_once(engine, commit=False) for _ in range(3)]
    finally:
        engine.dispose()
    return {
        **counts,
        "setup_seconds": setup,
        "median_seconds": statistics.median(t["seconds"] for t in trials),
        "processor_seconds": statistics.median(t["processor_seconds"] for t in trials),
        "server_seconds": statistics.median(t["server_seconds"] for t in trials),
        "load_average": os.getloadavg()[0],
        "screening_seconds": statistics.median(t["screening_seconds"] for t in trials),
        "areas_evaluated": trials[0]["areas_evaluated"],
        "liftings_proposed": trials[0]["liftings_proposed"],
        "committed_seconds": committed["seconds"],
        "quiet_seconds": statistics.median(t["seconds"] for t in again),
        "quiet_areas_evaluated": again[0]["areas_evaluated"],
        "quiet_liftings_proposed": again[0]["liftings_proposed"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"buildings": args.buildings, "days": args.days}
    with tempfile.TemporaryDirectory(prefix="xietong-bench-") as folder:
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(folder) / 'zones.sqlite'}"
            figures["sqlite"] = run_backend(url, buildings=args.buildings, days=args.days)
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = run_backend(url, buildings=args.buildings, days=args.days)
            finally:
                drop_postgresql(args.postgres_url, name)
    for backend in ("sqlite", "postgresql"):
        if backend in figures:
            f = figures[backend]
            print(
                f"{backend:>10}: {f['areas_evaluated']:,} locked buildings, {f['infections']:,} "
                f"infections and {f['negative_building_days']:,} negative building-days over "
                f"{args.days} days (setup {f['setup_seconds']:.0f} s)\n"
                f"{'':>12}a day proposing {f['liftings_proposed']:,} liftings: "
                f"{f['median_seconds']:.2f} s (median of 3, of which the screening read "
                f"{f['screening_seconds']:.2f} s; committed {f['committed_seconds']:.2f} s; "
                f"this process's processor time {f['processor_seconds']:.2f} s, the database "
                f"server's {f['server_seconds']:.2f} s; load average "
                f"{f['load_average']:.1f})\n"
                f"{'':>12}the same day again, {f['quiet_areas_evaluated']:,} areas and nothing to "
                f"propose: {f['quiet_seconds']:.2f} s (median of 3)"
            )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
