"""The twin at size: build the synthetic city, simulate the outbreak and replay it through the
services, timing each stage and reading the process's peak memory after it.

Usage: .venv/bin/python -m benchmarks.twin_build --population 10000000 [--days 21]
       [--seed 2022] [--postgres-url URL] [--city-only]

Without --postgres-url it runs on a fresh SQLite file in a temporary folder; with it, on a fresh
PostgreSQL database created there and dropped afterwards. Per stage: wall time and the peak
resident memory of the process so far (ru_maxrss: it never falls, so a stage that holds more
than the ones before it shows as a rise). The replay's steps are summed per stage of the day
(morning, results, followup, close) and the slowest day is named; the contact tracing of the
22:00 step (`twin.casework.trace`: contacts, orders, referrals and links) is timed on its own, with
the SQL statements it sends. `--city-only` builds the city and stops (the persons' part is
`people.register_many`, on one worker process per core).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, *, population: int, days: int, seed: int) -> dict[str, Any]:
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.twin import casework
    from xietong.twin.city import build_city
    from xietong.twin.replay import replay

    figures: dict[str, Any] = {"stages": {}, "per_day": {}}
    stages: dict[str, dict[str, float]] = figures["stages"]

    def mark(stage: str, started: float) -> None:
        entry = stages.setdefault(stage, {"seconds": 0.0, "peak_mib": 0.0})
        entry["seconds"] += time.perf_counter() - started
        entry["peak_mib"] = _peak_mib()

    engine = build_engine(url)
    factory = session_factory(engine)

    def work() -> AbstractContextManager[Session]:
        return unit_of_work(factory, clock=SystemClock())

    started = time.perf_counter()
    prepare_database(engine)
    mark("database", started)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    city: dict[str, float] = {}
    started = time.perf_counter()
    last = [started, ""]

    def city_progress(stage: str, _share: float) -> None:
        now = time.perf_counter()
        if last[1]:
            city[str(last[1])] = city.get(str(last[1]), 0.0) + now - float(last[0])
        last[0], last[1] = now, stage

    with work() as session:
        built = build_city(
            session, protector=protector, population=population, seed=seed, progress=city_progress
        )
    city_progress("", 1.0)
    mark("city", started)
    figures["city_parts"] = city
    figures["buildings"] = built.buildings
    if days == 0:
        figures.update(replay_seconds=0.0, steps_run=0, last_day={}, rows={})
        figures["peak_mib"] = _peak_mib()
        engine.dispose()
        return figures

    step = [time.perf_counter(), ""]

    def replay_progress(label: str, _n: int, _total: int) -> None:
        now = time.perf_counter()
        if step[1]:
            day, stage = str(step[1]).rsplit(" ", 1)
            entry = stages.setdefault(stage, {"seconds": 0.0, "peak_mib": 0.0})
            entry["seconds"] += now - float(step[0])
            entry["peak_mib"] = _peak_mib()
            figures["per_day"][day] = figures["per_day"].get(day, 0.0) + now - float(step[0])
        step[0], step[1] = now, label

    statements = [0]
    tracing = {"seconds": 0.0, "statements": 0, "links": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: object) -> None:
        statements[0] += 1

    trace = casework.trace

    def timed_trace(*args: Any, **kwargs: Any) -> dict[str, int]:
        begun, sent = time.perf_counter(), statements[0]
        done = trace(*args, **kwargs)
        tracing["seconds"] += time.perf_counter() - begun
        tracing["statements"] += statements[0] - sent
        tracing["links"] += done["links"]
        return done

    # The replay calls the tracing through the module, so the timed one is the one it runs.
    casework.trace = timed_trace
    started = time.perf_counter()
    report = replay(
        work,
        run_id=built.run_id,
        days=days,
        protector=protector,
        tz="Asia/Shanghai",
        progress=replay_progress,
    )
    figures["replay_seconds"] = time.perf_counter() - started
    casework.trace = trace
    figures["tracing"] = tracing
    figures["steps_run"] = report.steps_run
    closing = report.summaries.get(max(report.summaries, default=""), {})
    figures["last_day"] = {k: v for k, v in closing.items() if k != "bulletin"}
    with factory() as session:
        counts = {
            table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (
                "twin_infection",
                "screening_tube",
                "screening_membership",
                "cases_case",
                "cases_close_contact",
                "cases_transmission_link",
                "cases_link_proposal",
                "referrals_referral",
                "zones_risk_area",
            )
        }
    figures["rows"] = counts
    figures["peak_mib"] = _peak_mib()
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=21, help="days of November 2022 (1-30)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--postgres-url", help="admin URL: a fresh database is made there")
    parser.add_argument(
        "--database-prefix", default="xietong_twin", help="the fresh PostgreSQL database's name"
    )
    parser.add_argument("--city-only", action="store_true", help="build the city, replay nothing")
    args = parser.parse_args(argv)
    if args.city_only:
        args.days = 0
    with tempfile.TemporaryDirectory(prefix="xietong-twin-") as tmp:
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url, prefix=args.database_prefix)
            backend = "postgresql"
        else:
            url, name, backend = f"sqlite:///{Path(tmp) / 'twin.sqlite'}", "", "sqlite"
        started = time.perf_counter()
        try:
            figures = run(url, population=args.population, days=args.days, seed=args.seed)
        finally:
            if args.postgres_url:
                drop_postgresql(args.postgres_url, name)
    figures.update(
        backend=backend,
        population=args.population,
        days=args.days,
        total_seconds=time.perf_counter() - started,
    )
    print(
        f"twin on {backend}: {args.population:,} persons in {figures['buildings']:,} buildings, "
        f"{args.days} days replayed, {figures['total_seconds']:.1f} s in all, peak memory "
        f"{figures['peak_mib']:,.0f} MiB"
    )
    for stage, entry in figures["stages"].items():
        print(
            f"  {stage:<10} {entry['seconds']:8.1f} s   peak so far {entry['peak_mib']:8,.0f} MiB"
        )
    city = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in figures["city_parts"].items())
    print(f"  city parts: {city}")
    if figures["per_day"]:
        slowest = max(figures["per_day"], key=figures["per_day"].get)
        print(
            f"  days: {len(figures['per_day'])} replayed, slowest {slowest} "
            f"({figures['per_day'][slowest]:.1f} s), mean "
            f"{sum(figures['per_day'].values()) / len(figures['per_day']):.1f} s"
        )
    if figures.get("tracing"):
        tracing = figures["tracing"]
        print(
            f"  tracing (22:00): {tracing['seconds']:.1f} s, {tracing['statements']:,} SQL "
            f"statements, {tracing['links']:,} links"
        )
    print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in figures["rows"].items()))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
