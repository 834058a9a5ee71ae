"""One screening day: tubes with their members, then laboratory results, at city scale.

Usage: .venv/bin/python -m benchmarks.screening_day [--scale 1.0] [--postgres-url URL]
       [--skip-sqlite] [--skip-postgresql]

At --scale 1.0: 1,000,000 tubes of 10 swabs (10,000,000 memberships) from 10,000,000 persons, and
1,000,000 results with 0.1 % of the pools positive. Per backend, in one fresh database, it
prints our ingestion rates (the tube file through `screening.service.register_tubes_file`, the
result file through the intake flow, each one transaction, CSV parsing included) against the
backend's fastest native bulk path loading the same rows into a bare table (binary COPY on
PostgreSQL, one-transaction `executemany` on SQLite), the same path into a table with our
membership indexes (what the indexes alone cost), the ratios, and each loader's peak memory
(every load runs in its own process). The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL;
a fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock

DAY = date(2022, 11, 15)
START = datetime(2022, 11, 14, 23, 0, tzinfo=UTC)  # 07:00 in Chongqing
NOW = datetime(2022, 11, 15, 15, 0, tzinfo=UTC)  # 23:00 in Chongqing
POOL = 10
PERSONS_PER_BUILDING = 100
TUBES_PER_SITE = 100
POSITIVE_EVERY = 1000  # 0.1 % of pools
INVALID_EVERY = 2000  # 0.05 %


def sizes(scale: float) -> dict[str, int]:
    tubes = max(100, round(1_000_000 * scale))
    return {"tubes": tubes, "memberships": tubes * POOL, "persons": tubes * POOL}


def _members(tubes: int) -> Iterator[tuple[int, list[int]]]:
    """Tube number → person numbers (0-based): people queue with neighbours, not in id order."""
    rng = random.Random(7)
    block = 1000
    persons = tubes * POOL
    for start in range(0, persons, block):
        order = list(range(start, min(persons, start + block)))
        rng.shuffle(order)
        for k in range(0, len(order), POOL):
            yield (start + k) // POOL, order[k : k + POOL]


def tube_code(t: int) -> str:
    return f"T221115{t:08d}"


# --- preparing the database (not measured) -----------------------------------------------------


def prepare(url: str, n: dict[str, int]) -> dict[str, Any]:
    """Areas, persons (bulk, synthetic IDs) and sampling sites of the central urban area."""
    from xietong.areas import service as areas_service
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.people.models import Person
    from xietong.people.protection import PersonalDataProtector
    from xietong.people.synthetic import synthetic_national_id
    from xietong.screening.models import Site
    from xietong.storage.bulk import bulk_insert
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    prepare_database(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    buildings = max(1, n["persons"] // PERSONS_PER_BUILDING)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        central = [d for d in areas_service.list_districts(session) if d.central_urban]
        total = sum(d.population or 0 for d in central)
        per = {d.code: max(1, round(buildings * (d.population or 0) / total)) for d in central}
        areas_service.generate_synthetic_areas(
            session, buildings_per_district=per, seed=0, buildings_per_community=40
        )
        refs = sorted(areas_service.building_index(session).values(), key=lambda r: r.id)
        name = protector.encrypt(
            "居民"
        )  # one ciphertext for all: only the rows' count matters here
        first_birth = date(1940, 1, 1)

        def persons() -> Iterator[tuple[Any, ...]]:
            for i in range(n["persons"]):
                home = refs[min(i // PERSONS_PER_BUILDING, len(refs) - 1)]
                # One in fifty lives in another district than where it is sampled and stays.
                stay = refs[(i * 7919) % len(refs)] if i % 50 == 0 else home
                number = synthetic_national_id(
                    serial=i % 1000, birth=first_birth + timedelta(days=i // 1000)
                )
                yield (
                    protector.hash_id(number),
                    number[:4] + "*" * 10 + number[-4:],
                    name,
                    home.id,
                    home.district_id,
                    stay.id,
                    stay.district_id,
                    NOW,
                    NOW,
                )

        bulk_insert(
            session,
            Person.__table__,  # type: ignore[arg-type]
            [
                "id_hash",
                "id_masked",
                "name_enc",
                "residence_building_id",
                "residence_district_id",
                "current_building_id",
                "current_district_id",
                "created_at",
                "updated_at",
            ],
            persons(),
        )
        sites = max(1, n["tubes"] // TUBES_PER_SITE)
        bulk_insert(
            session,
            Site.__table__,  # type: ignore[arg-type]
            ["code", "name", "district_id", "active", "created_at"],
            (
                (
                    f"S{s:06d}",
                    f"采样点{s}",
                    refs[min(s * len(refs) // sites, len(refs) - 1)].district_id,
                    True,
                    NOW,
                )
                for s in range(sites)
            ),
        )
        first_person = session.execute(text("SELECT min(id) FROM people_person")).scalar_one()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
    engine.dispose()
    return {"first_person": first_person, "sites": sites}


def write_files(folder: Path, n: dict[str, int], first_person: int) -> tuple[Path, Path]:
    tubes_path, results_path = folder / "tubes.csv", folder / "results.csv"
    sites = max(1, n["tubes"] // TUBES_PER_SITE)
    seconds = 12 * 3600 / n["tubes"]
    with tubes_path.open("w", encoding="utf-8") as out:
        out.write("tube_code,site_code,collected_at,pool_size,person_id\n")
        for t, members in _members(n["tubes"]):
            at = (START + timedelta(seconds=int(t * seconds))).isoformat()
            site = f"S{t * sites // n['tubes']:06d}"
            head = f"{tube_code(t)},{site},{at},{POOL},"
            out.writelines(f"{head}{first_person + p}\n" for p in members)
    with results_path.open("w", encoding="utf-8") as out:
        out.write("tube_code,result,ct_value,lab,reported_at\n")
        for t in range(n["tubes"]):
            at = (START + timedelta(seconds=int(t * seconds), hours=3)).isoformat()
            outcome, ct = "negative", ""
            if t % POSITIVE_EVERY == POSITIVE_EVERY // 2:
                outcome, ct = "positive", "27.5"
            elif t % INVALID_EVERY == 1:
                outcome = "invalid"
            out.write(f"{tube_code(t)},{outcome},{ct},LAB-{t % 40:02d},{at}\n")
    return tubes_path, results_path


# --- the measured loads (each in its own process) ---------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(url: str, tubes_path: str, results_path: str, queue: Any) -> None:
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM
    from xietong.flows import intake
    from xietong.people.protection import PersonalDataProtector
    from xietong.screening import service
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    with (
        unit_of_work(session_factory(engine), clock=SystemClock()) as session,
        open(tubes_path, encoding="utf-8", newline="") as stream,
    ):
        report = service.register_tubes_file(
            session,
            principal=SYSTEM,
            stream=stream,
            source_name="bench",
            tz="Asia/Shanghai",
            now=NOW,
            protector=protector,
            expected_rows=os.path.getsize(tubes_path) // 60,
        )
    figures["tubes_seconds"] = time.perf_counter() - started
    figures["tubes_report"] = report.model_dump()
    started = time.perf_counter()
    with (
        unit_of_work(session_factory(engine), clock=SystemClock()) as session,
        open(results_path, encoding="utf-8", newline="") as stream,
    ):
        intake_report = intake.ingest_lab_results(
            session,
            principal=SYSTEM,
            stream=stream,
            source_name="bench",
            tz="Asia/Shanghai",
            now=NOW,
        )
    figures["results_seconds"] = time.perf_counter() - started
    figures["results_report"] = intake_report.results.model_dump()
    figures["peak_mib"] = _peak_mib()
    engine.dispose()
    queue.put(figures)


_RAW_TABLES = {
    "bare_memberships": "CREATE TABLE {t} (round_day DATE NOT NULL, person_id BIGINT NOT NULL, "
    "tube_id BIGINT NOT NULL, district_id INTEGER NOT NULL)",
    "indexed_memberships": "CREATE TABLE {t} (round_day DATE NOT NULL, person_id BIGINT NOT NULL, "
    "tube_id BIGINT NOT NULL, district_id INTEGER NOT NULL, "
    "PRIMARY KEY (round_day, person_id, tube_id)){without_rowid}; "
    "CREATE INDEX {t}_tube ON {t} {brin}(tube_id)",
    "bare_results": "CREATE TABLE {t} (tube_id BIGINT NOT NULL, outcome VARCHAR(8) NOT NULL, "
    "ct_value FLOAT, lab_code VARCHAR(40) NOT NULL, reported_at TIMESTAMP WITH TIME ZONE NOT NULL)",
}


def _raw_rows(kind: str, n: dict[str, int], *, as_text: bool) -> Iterator[tuple[Any, ...]]:
    """The rows as the driver takes them: typed for COPY, dates as text for SQLite."""
    seconds = 12 * 3600 / n["tubes"]
    if kind.endswith("memberships"):
        day = DAY.isoformat() if as_text else DAY
        for t, members in _members(n["tubes"]):
            for p in members:
                yield (day, p + 1, t + 1, 3 + t % 9)
    else:
        for t in range(n["tubes"]):
            at = START + timedelta(seconds=t * seconds, hours=3)
            yield (t + 1, "negative", None, f"LAB-{t % 40:02d}", str(at) if as_text else at)


def _raw(url: str, kind: str, n: dict[str, int], queue: Any) -> None:
    """The backend's fastest native path: binary COPY, or executemany in one transaction."""
    from xietong.storage.engine import normalise_url

    table = f"bench_{kind}"
    started = 0.0
    if url.startswith("postgresql"):
        import psycopg

        plain = (
            make_url(normalise_url(url))
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        with psycopg.connect(plain) as connection, connection.cursor() as cursor:
            for statement in (
                _RAW_TABLES[kind].format(t=table, without_rowid="", brin="USING brin ").split(";")
            ):
                cursor.execute(statement)
            connection.commit()
            columns = (
                "(round_day, person_id, tube_id, district_id)"
                if "memberships" in kind
                else ("(tube_id, outcome, ct_value, lab_code, reported_at)")
            )
            types = (
                ["date", "int8", "int8", "int4"]
                if "memberships" in kind
                else (["int8", "text", "float8", "text", "timestamptz"])
            )
            started = time.perf_counter()
            with cursor.copy(f"COPY {table} {columns} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in _raw_rows(kind, n, as_text=False):
                    copy.write_row(row)
            connection.commit()
            elapsed = time.perf_counter() - started
            cursor.execute(f"DROP TABLE {table}")
            connection.commit()
    else:
        import sqlite3

        connection = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        connection.executescript(
            _RAW_TABLES[kind].format(t=table, without_rowid=" WITHOUT ROWID", brin="")
        )
        width = 4 if "memberships" in kind else 5
        statement = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
        started = time.perf_counter()
        connection.execute("BEGIN")
        rows = _raw_rows(kind, n, as_text=True)
        while batch := [row for _, row in zip(range(20_000), rows, strict=False)]:
            connection.executemany(statement, batch)
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.execute(f"DROP TABLE {table}")
        connection.close()
    queue.put({"seconds": elapsed, "peak_mib": _peak_mib()})


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


# --- running it --------------------------------------------------------------------------------


def run_backend(url: str, n: dict[str, int], folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    prepared = prepare(url, n)
    tubes_path, results_path = write_files(folder, n, prepared["first_person"])
    figures: dict[str, Any] = {"prepare_seconds": time.perf_counter() - started}
    for kind in ("bare_memberships", "indexed_memberships", "bare_results"):
        figures[kind] = _in_child(_raw, url, kind, n)
    figures["ours"] = _in_child(_ours, url, str(tubes_path), str(results_path))
    ours = figures["ours"]
    figures["rates"] = {
        "memberships_ours": n["memberships"] / ours["tubes_seconds"],
        "memberships_raw": n["memberships"] / figures["bare_memberships"]["seconds"],
        "memberships_raw_with_our_indexes": n["memberships"]
        / figures["indexed_memberships"]["seconds"],
        "results_ours": n["tubes"] / ours["results_seconds"],
        "results_raw": n["tubes"] / figures["bare_results"]["seconds"],
    }
    rates = figures["rates"]
    rates["memberships_ratio"] = rates["memberships_ours"] / rates["memberships_raw"]
    rates["results_ratio"] = rates["results_ours"] / rates["results_raw"]
    figures["day_seconds"] = ours["tubes_seconds"] + ours["results_seconds"]
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 tubes")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args(argv)
    n = sizes(args.scale)
    figures: dict[str, Any] = {"scale": args.scale, **n}
    with tempfile.TemporaryDirectory(prefix="xietong-screening-") as tmp:
        folder = Path(tmp)
        if not args.skip_postgresql and args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = run_backend(url, n, folder)
            finally:
                drop_postgresql(args.postgres_url, name)
        if not args.skip_sqlite:
            figures["sqlite"] = run_backend(f"sqlite:///{folder / 'bench.sqlite'}", n, folder)
    for backend in ("postgresql", "sqlite"):
        if backend not in figures:
            continue
        f = figures[backend]
        r, o = f["rates"], f["ours"]
        print(
            f"{backend} at scale {args.scale:g} ({n['tubes']:,} tubes, {n['memberships']:,} memberships, "  # noqa: E501
            f"{n['tubes']:,} results):\n"
            f"  memberships: ours {r['memberships_ours']:,.0f} rows/s ({o['tubes_seconds']:.1f} s) | raw "  # noqa: E501
            f"{r['memberships_raw']:,.0f} rows/s into a bare table | raw {r['memberships_raw_with_our_indexes']:,.0f}"  # noqa: E501
            f" rows/s into a table with our indexes | ours/raw {r['memberships_ratio']:.2f}\n"
            f"  results:     ours {r['results_ours']:,.0f} rows/s ({o['results_seconds']:.1f} s, "
            f"{o['results_report']['holds']:,} holds, {o['results_report']['resample_tasks']:,} resamples) | raw "  # noqa: E501
            f"{r['results_raw']:,.0f} rows/s into a bare table | ours/raw {r['results_ratio']:.2f}\n"  # noqa: E501
            f"  the day: {f['day_seconds']:.1f} s; peak memory ours {o['peak_mib']:.0f} MiB, raw "
            f"{max(f[k]['peak_mib'] for k in ('bare_memberships', 'indexed_memberships', 'bare_results')):.0f} MiB"  # noqa: E501
        )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
