"""Finding possible duplicate persons among N registered persons, one share of them duplicates.

Usage: .venv/bin/python -m benchmarks.duplicates_find --persons 1000000 [--share 0.01]
       [--postgres-url URL] [--skip-sqlite]

The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL; a fresh database is created and dropped.
Persons are registered through `people.service.register_many` (keyed hashes and encryption as in
production); `share` of them repeat an earlier person's name, or phone, and birth date under
another ID number, half each, so the number of pairs to find is known. The figure is
`people.duplicates.find_duplicates` for the city, committed: seconds and persons per second, then
a second run that finds nothing new (the cost of a daily re-run).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock

PERSONS_PER_BUILDING = 100
# Serials 0–899 of a birth date are the originals', 900–999 their duplicates'.
ORIGINALS_PER_DAY = 900
FIRST_BIRTH = date(1940, 1, 1)


def _persons(total: int, duplicates: int, buildings: list[tuple[int, int]]) -> Iterator[Any]:
    """The originals, then the duplicates (every `spacing`-th original repeated once)."""
    from xietong.people.rows import NewPerson
    from xietong.people.synthetic import synthetic_national_id

    originals = total - duplicates
    spacing = originals // duplicates if duplicates else 1

    def made(index: int, serial: int, name: str, phone: str | None) -> NewPerson:
        building, district = buildings[index % len(buildings)]
        birth = FIRST_BIRTH + timedelta(days=index // ORIGINALS_PER_DAY)
        return NewPerson(
            national_id=synthetic_national_id(serial=serial, birth=birth),
            name=name,
            phone=phone,
            residence_building_id=building,
            residence_district_id=district,
            current_building_id=building,
            current_district_id=district,
        )

    for k in range(originals):
        yield made(k, k % ORIGINALS_PER_DAY, f"居民{k}", f"139{k:08d}")
    for m in range(duplicates):
        k = m * spacing
        if m % 2 == 0:
            yield made(k, ORIGINALS_PER_DAY + m % 100, f"居民{k}", None)
        else:
            yield made(k, ORIGINALS_PER_DAY + m % 100, f"居民{k}乙", f"+86-139{k:08d}")


def run(url: str, *, persons: int, share: float) -> dict[str, Any]:
    from sqlalchemy import select

    from xietong.areas import service as areas_service
    from xietong.areas.models import Building
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM
    from xietong.people import duplicates as duplicates_service
    from xietong.people import service as people_service
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    duplicates = round(persons * share)
    if duplicates * 10 > persons:
        raise SystemExit("--share: at most 0.1 (100 duplicates per 900 originals of a day)")
    engine = build_engine(url)
    prepare_database(engine)
    clock = SystemClock()
    factory = session_factory(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with unit_of_work(factory, clock=clock) as session:
        codes = [d.code for d in areas_service.list_districts(session)]
        per_district = max(1, persons // PERSONS_PER_BUILDING // len(codes))
        areas_service.generate_synthetic_areas(
            session, buildings_per_district=dict.fromkeys(codes, per_district), seed=0
        )
        buildings = [(b, d) for b, d in session.execute(select(Building.id, Building.district_id))]
    with unit_of_work(factory, clock=clock) as session:
        people_service.register_many(
            session,
            principal=SYSTEM,
            protector=protector,
            persons=_persons(persons, duplicates, buildings),
            source_name="benchmark",
        )
    figures: dict[str, Any] = {"persons": persons, "duplicates": duplicates}
    for label in ("first", "again"):
        started = time.perf_counter()
        with unit_of_work(factory, clock=clock) as session:
            report = duplicates_service.find_duplicates(
                session, principal=SYSTEM, now=datetime.now(UTC)
            )
        seconds = time.perf_counter() - started
        figures[label] = {
            "seconds": seconds,
            "proposed": report.proposed,
            "persons_per_second": persons / seconds,
        }
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01, help="duplicates among the persons")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xietong-bench-") as folder:
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            figures["sqlite"] = run(url, persons=args.persons, share=args.share)
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = run(url, persons=args.persons, share=args.share)
            finally:
                drop_postgresql(args.postgres_url, name)
    for backend, f in figures.items():
        print(
            f"{backend:>10}: {f['persons']:,} persons, {f['duplicates']:,} duplicates: "
            f"{f['first']['proposed']:,} pairs in {f['first']['seconds']:.2f} s "
            f"({f['first']['persons_per_second']:,.0f} persons/s); "
            f"again {f['again']['seconds']:.2f} s, {f['again']['proposed']} new"
        )
    return figures


if __name__ == "__main__":
    main()
