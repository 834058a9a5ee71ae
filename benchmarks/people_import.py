"""Import of synthetic persons from CSV against the raw bulk load of the same protected rows.

Usage: .venv/bin/python -m benchmarks.people_import --persons 1000000 [--postgres-url URL]
       [--workers N] [--skip-sqlite] [--again]

The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL; a fresh database is created and dropped.
Ours: `people import` of the CSV (validation, keyed hash and encryption on N worker processes,
one per core by default, streamed into the bulk path). Raw: the rows ours wrote, already hashed
and encrypted, exported and loaded again into the emptied table by the backend's own fastest
route (binary COPY on PostgreSQL, INSERT ... SELECT from an attached file on SQLite), with the
same indexes. `ours/raw` is raw's time over ours: 1.0 would mean protecting persons costs nothing.
Each import runs in its own process so that its peak memory (ru_maxrss) is its own; the file is
streamed, so peak memory should not grow with the number of persons.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock
from xietong.people.rows import TABLE_COLUMNS

PERSONS_PER_BUILDING = 100


def write_persons_csv(path: Path, *, persons: int, building_codes: list[str]) -> None:
    from xietong.people.synthetic import synthetic_national_id

    start = date(1940, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["national_id", "name", "phone", "residence_building", "current_building"])
        n_buildings = len(building_codes)
        for i in range(persons):
            birth = start + timedelta(days=i // 1000)
            national_id = synthetic_national_id(serial=i % 1000, birth=birth)
            residence = building_codes[i % n_buildings]
            # One in ten stays in another building (often another district).
            current = building_codes[(i * 7919) % n_buildings] if i % 10 == 0 else ""
            writer.writerow([national_id, f"居民{i}", f"139{i:08d}", residence, current])


def _prepare(url: str, buildings: int) -> list[str]:
    from xietong.areas import service as areas_service
    from xietong.bootstrap import prepare_database
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    prepare_database(engine)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        districts = areas_service.list_districts(session)
        total_population = sum(d.population or 0 for d in districts)
        per_district = {
            d.code: max(1, round(buildings * (d.population or 0) / total_population))
            for d in districts
        }
        areas_service.generate_synthetic_areas(session, buildings_per_district=per_district, seed=0)
        codes = list(areas_service.iter_building_codes(session))
    engine.dispose()
    return codes


def _import_worker(url: str, csv_path: str, workers: int | None, again: bool, queue: Any) -> None:
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM
    from xietong.people import service as people_service
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    results = {}
    for attempt in ("first", "again") if again else ("first",):
        started = time.perf_counter()
        with (
            unit_of_work(session_factory(engine), clock=SystemClock()) as session,
            open(csv_path, encoding="utf-8", newline="") as stream,
        ):
            report = people_service.import_persons(
                session, principal=SYSTEM, protector=protector, stream=stream, workers=workers
            )
        elapsed = time.perf_counter() - started
        results[attempt] = {
            "seconds": elapsed,
            "rows_per_second": report.rows_read / elapsed,
            "inserted": report.inserted,
        }
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    queue.put(results)


def _run_in_child(url: str, csv_path: Path, workers: int | None, again: bool) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_import_worker, args=(url, str(csv_path), workers, again, queue)
    )
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


# The columns the import writes, so the raw load is of exactly the rows it protects.
_PROTECTED = ", ".join(TABLE_COLUMNS)


def raw_load_seconds(url: str, workdir: Path) -> float:
    """Export the protected rows, empty the table, time loading them back natively."""
    from sqlalchemy import text

    from xietong.storage.engine import build_engine

    engine = build_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            dump = workdir / "protected.copy"
            with engine.begin() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                with (
                    raw.cursor() as cursor,
                    dump.open("wb") as out,
                    cursor.copy(
                        f"COPY people_person ({_PROTECTED}) TO STDOUT (FORMAT BINARY)"
                    ) as copy,
                ):
                    for block in copy:
                        out.write(block)
                connection.execute(text("TRUNCATE people_person CASCADE"))
            with engine.connect() as connection:
                connection.execute(text("CHECKPOINT"))
                connection.commit()
            started = time.perf_counter()
            with engine.begin() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                with (
                    raw.cursor() as cursor,
                    dump.open("rb") as source,
                    cursor.copy(
                        f"COPY people_person ({_PROTECTED}) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    while block := source.read(1 << 20):
                        copy.write(block)
            seconds = time.perf_counter() - started
            dump.unlink()
            return seconds
        side = workdir / "protected.sqlite"
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ATTACH DATABASE '{side}' AS side")
            connection.exec_driver_sql(
                f"CREATE TABLE side.protected AS SELECT {_PROTECTED} FROM people_person"
            )
            connection.exec_driver_sql("DELETE FROM people_person")
        with engine.begin() as connection:
            connection.exec_driver_sql("DETACH DATABASE side")
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ATTACH DATABASE '{side}' AS side")
            connection.exec_driver_sql(
                f"INSERT INTO people_person ({_PROTECTED}) SELECT {_PROTECTED} FROM side.protected"
            )
        seconds = time.perf_counter() - started
        with engine.begin() as connection:
            connection.exec_driver_sql("DETACH DATABASE side")
        return seconds
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--again", action="store_true", help="time a second, no-op import too")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"persons": args.persons}
    with tempfile.TemporaryDirectory(prefix="xietong-bench-") as folder:
        workdir = Path(folder)
        buildings = max(41, args.persons // PERSONS_PER_BUILDING)
        targets: list[tuple[str, str, str | None]] = []
        if not args.skip_sqlite:
            targets.append(("sqlite", f"sqlite:///{workdir / 'bench.sqlite'}", None))
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            targets.append(("postgresql", url, name))
        csv_path = workdir / "persons.csv"
        try:
            for backend, url, _ in targets:
                codes = _prepare(url, buildings)
                if not csv_path.exists():
                    write_persons_csv(csv_path, persons=args.persons, building_codes=codes)
                    figures["file_mib"] = csv_path.stat().st_size / 2**20
                figures[backend] = _run_in_child(url, csv_path, args.workers, args.again)
                raw = raw_load_seconds(url, workdir)
                figures[backend]["raw_seconds"] = raw
                figures[backend]["ours_over_raw"] = raw / figures[backend]["first"]["seconds"]
        finally:
            for _, _, name in targets:
                if name is not None:
                    drop_postgresql(args.postgres_url, name)
    for backend in ("sqlite", "postgresql"):
        if backend in figures:
            f = figures[backend]
            print(
                f"{backend:>10}: {args.persons:,} persons in {f['first']['seconds']:.1f} s = "
                f"{f['first']['rows_per_second']:,.0f} rows/s; raw load of the same protected "
                f"rows {f['raw_seconds']:.1f} s; ours/raw {f['ours_over_raw']:.2f}; "
                f"peak memory {f['peak_rss_mib']:.0f} MiB"
            )
            if "again" in f:
                print(
                    f"{'':>10}  re-import (no-op, {f['again']['inserted']} inserted) "
                    f"{f['again']['rows_per_second']:,.0f} rows/s"
                )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
