"""Cases per second with their close contacts: registered in batches against one at a time.

Usage: .venv/bin/python -m benchmarks.casework_batch --cases 10000 [--contacts 3]
       [--batch 2000] [--single-cases 500] [--line-list-cases 1000]
       [--single-line-list-cases 200] [--postgres-url URL] [--skip-sqlite]
The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL; a fresh database is created and dropped.

A fresh database per backend: synthetic areas, persons in bulk (100 to a building), and a
quarantine facility per district with beds for about half of the contacts. Then, in the same
run, on distinct persons:
- one at a time: `--single-cases` cases (at most `--cases`), each registered by
  `cases.service.create_case` and its `--contacts` contacts by `contacts.service.register_contact`,
  all in one transaction (the per-call cost alone, the most favourable setting for that path);
- in batches: `--cases` cases by `cases.registration.register_cases` and their contacts by
  `cases.contacts.batch.register_contacts`, `--batch` cases (with their contacts) per
  transaction.
Both go through the same rules: classification at detection, places, building infections and
the areas they propose, clusters, quarantine orders with beds, referral needs for contacts living
in another district. The figure is cases (each with its contacts) per second of each path, and
their ratio.

Then line lists, on other persons: a list of `--line-list-cases` cases (person_id,
classification, detected_at) and the list of their contacts (case_id, person_id, exposure),
each imported by `flows.line_lists.import_line_list` in one transaction, through the batch path
and (`--single-line-list-cases` cases, at most `--line-list-cases`) a row at a time (`by_row`).
The figure is rows (cases and contacts) per second of each path, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock

TZ = "Asia/Shanghai"
PERSONS_PER_BUILDING = 100
# Every contact after the household's is someone from another building (often another district).
HOUSEHOLD_CONTACTS = 2


def _setup(url: str, *, persons: int, contacts: int) -> tuple[Any, int]:
    from benchmarks.dashboard import _seed_persons
    from benchmarks.people_import import _prepare
    from xietong.areas import service as areas_service
    from xietong.config import Settings
    from xietong.people.protection import PersonalDataProtector
    from xietong.resources.models import Facility
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    _prepare(url, max(41, persons // PERSONS_PER_BUILDING + 1))
    engine = build_engine(url)
    factory = session_factory(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with unit_of_work(factory, clock=SystemClock()) as session:
        buildings = sorted(areas_service.building_index(session).values(), key=lambda r: r.id)
        districts = areas_service.list_districts(session)
        beds = max(1, persons * contacts // (2 * (contacts + 1) * len(districts)))
        session.add_all(
            Facility(
                code=f"BQ-{d.code}",
                name="集中隔离点",
                district_id=d.id,
                kind="centralised_quarantine",
                beds=beds,
                active=True,
                updated_at=datetime.now(UTC),
            )
            for d in districts
        )
    first = _seed_persons(
        factory, protector=protector, buildings=buildings, persons=persons, now=datetime.now(UTC)
    )
    return (engine, factory, protector), first


def _work(
    first: int, start: int, count: int, contacts: int, rng: random.Random, persons: int
) -> list[tuple[int, list[int]]]:
    """`count` cases from person slot `start` on, each with its contacts' persons.

    Slots are blocks of `contacts + 1` persons of one building: the case, its household, and
    persons of other buildings taken from the far end of the city (never a case of the run).
    """
    work = []
    for k in range(start, start + count):
        case_person = first + k * (contacts + 1)
        household = [case_person + 1 + j for j in range(min(contacts, HOUSEHOLD_CONTACTS))]
        others = [
            first + persons - 1 - far
            for far in rng.sample(range(persons // 4), contacts - len(household))
        ]
        work.append((case_person, household + others))
    return work


def _single(
    factory: Any, protector: Any, work: list[tuple[int, list[int]]], now: datetime
) -> float:
    from xietong.cases import service as cases_service
    from xietong.cases.contacts import service as contact_service
    from xietong.cases.schemas import CaseCreate, ContactCreate
    from xietong.core.principal import SYSTEM
    from xietong.storage.unit_of_work import unit_of_work

    started = time.perf_counter()
    with unit_of_work(factory, clock=SystemClock()) as session:
        for k, (case_person, contact_persons) in enumerate(work):
            detected = now - timedelta(hours=6) + timedelta(seconds=k)
            case = cases_service.create_case(
                session,
                principal=SYSTEM,
                case_in=CaseCreate(
                    person_id=case_person, classification="confirmed", detected_at=detected
                ),
                now=now,
                tz=TZ,
            )
            for person_id in contact_persons:
                contact_service.register_contact(
                    session,
                    principal=SYSTEM,
                    protector=protector,
                    case_id=case.id,
                    contact_in=ContactCreate(
                        person_id=person_id,
                        exposure_kind="household",
                        last_exposure_at=detected - timedelta(hours=2),
                    ),
                    now=now,
                    tz=TZ,
                )
    return time.perf_counter() - started


def _batched(
    factory: Any,
    protector: Any,
    work: list[tuple[int, list[int]]],
    now: datetime,
    batch: int,
) -> float:
    from xietong.cases import registration
    from xietong.cases.contacts.batch import ContactOfCase, register_contacts
    from xietong.cases.schemas import CaseCreate, ContactCreate
    from xietong.core.principal import SYSTEM
    from xietong.storage.unit_of_work import unit_of_work

    started = time.perf_counter()
    for at in range(0, len(work), batch):
        part = work[at : at + batch]
        with unit_of_work(factory, clock=SystemClock()) as session:
            detected = [
                now - timedelta(hours=6) + timedelta(seconds=at + k) for k in range(len(part))
            ]
            cases = registration.register_cases(
                session,
                principal=SYSTEM,
                cases=[
                    CaseCreate(person_id=p, classification="confirmed", detected_at=d)
                    for (p, _), d in zip(part, detected, strict=True)
                ],
                now=now,
                tz=TZ,
            )
            register_contacts(
                session,
                principal=SYSTEM,
                protector=protector,
                contacts=[
                    ContactOfCase(
                        case.id,
                        ContactCreate(
                            person_id=person_id,
                            exposure_kind="household",
                            last_exposure_at=d - timedelta(hours=2),
                        ),
                    )
                    for case, (_, persons), d in zip(cases, part, detected, strict=True)
                    for person_id in persons
                ],
                now=now,
                tz=TZ,
            )
    return time.perf_counter() - started


def _line_lists(
    factory: Any, protector: Any, work: list[tuple[int, list[int]]], now: datetime, by_row: bool
) -> tuple[float, int]:
    """Seconds to import the line list of the cases of `work` and that of their contacts, and
    the rows registered."""
    import io

    from xietong.core.principal import SYSTEM
    from xietong.flows.line_lists import import_line_list
    from xietong.storage.unit_of_work import unit_of_work

    detected = [now - timedelta(hours=6) + timedelta(seconds=k) for k in range(len(work))]
    cases_csv = "person_id,classification,detected_at\n" + "".join(
        f"{p},confirmed,{d.isoformat()}\n" for (p, _), d in zip(work, detected, strict=True)
    )
    started = time.perf_counter()
    with unit_of_work(factory, clock=SystemClock()) as session:
        common: dict[str, Any] = {"principal": SYSTEM, "protector": protector, "now": now}
        cases = import_line_list(
            session, kind="cases", stream=io.StringIO(cases_csv), tz=TZ, by_row=by_row, **common
        )
        case_ids = [cases.registered[line] for line in range(2, len(work) + 2)]
        contacts_csv = "case_id,person_id,exposure_kind,last_exposure_at\n" + "".join(
            f"{case_id},{person_id},household,{(d - timedelta(hours=2)).isoformat()}\n"
            for case_id, (_, persons), d in zip(case_ids, work, detected, strict=True)
            for person_id in persons
        )
        contacts = import_line_list(
            session,
            kind="contacts",
            stream=io.StringIO(contacts_csv),
            tz=TZ,
            by_row=by_row,
            **common,
        )
    return time.perf_counter() - started, cases.rows_loaded + contacts.rows_loaded


def run_backend(
    url: str,
    *,
    cases: int,
    single: int,
    contacts: int,
    batch: int,
    line_list: int = 0,
    single_line_list: int = 0,
) -> dict[str, Any]:
    from xietong.cases.models import Case, CloseContact, ContactReferralNeed, QuarantineOrder

    slots = cases + single + line_list + single_line_list
    persons = slots * (contacts + 1) * 4 // 3 + PERSONS_PER_BUILDING
    mark = time.perf_counter()
    (engine, factory, protector), first = _setup(url, persons=persons, contacts=contacts)
    setup = time.perf_counter() - mark
    rng = random.Random(7)
    now = datetime.now(UTC)
    one_by_one = _work(first, 0, single, contacts, rng, persons)
    in_batches = _work(first, single, cases, contacts, rng, persons)
    listed = _work(first, single + cases, line_list, contacts, rng, persons)
    listed_by_row = _work(
        first, single + cases + line_list, single_line_list, contacts, rng, persons
    )
    single_seconds = _single(factory, protector, one_by_one, now)
    batch_seconds = _batched(factory, protector, in_batches, now, batch)
    line_list_figures: dict[str, Any] = {}
    if line_list:
        by_row_seconds, by_row_rows = (
            _line_lists(factory, protector, listed_by_row, now, by_row=True)
            if single_line_list
            else (0.0, 0)
        )
        list_seconds, list_rows = _line_lists(factory, protector, listed, now, by_row=False)
        by_row_rate = by_row_rows / by_row_seconds if by_row_seconds else 0.0
        list_rate = list_rows / list_seconds
        line_list_figures = {
            "line_list_rows": list_rows,
            "line_list_seconds": list_seconds,
            "line_list_rows_per_second": list_rate,
            "by_row_rows": by_row_rows,
            "by_row_seconds": by_row_seconds,
            "by_row_rows_per_second": by_row_rate,
            "line_list_speedup": list_rate / by_row_rate if by_row_rate else 0.0,
        }
    with factory() as session:
        count = lambda model, *where: session.scalar(  # noqa: E731
            select(func.count()).select_from(model).where(*where)
        )
        sizes = {
            "cases": count(Case),
            "contacts": count(CloseContact),
            "orders": count(QuarantineOrder),
            "orders_with_bed": count(QuarantineOrder, QuarantineOrder.facility_id.is_not(None)),
            "referral_needs": count(ContactReferralNeed),
            "surface_cases": count(Case, Case.found_under_control.is_(False)),
        }
    engine.dispose()
    single_rate = single / single_seconds if single else 0.0
    batch_rate = cases / batch_seconds
    return {
        "persons": persons,
        "setup_seconds": setup,
        "single_cases": single,
        "single_seconds": single_seconds,
        "single_cases_per_second": single_rate,
        "batch_cases": cases,
        "batch_seconds": batch_seconds,
        "batch_cases_per_second": batch_rate,
        "speedup": batch_rate / single_rate if single_rate else 0.0,
        "sizes": sizes,
        **line_list_figures,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--single-cases", type=int, default=500)
    parser.add_argument("--line-list-cases", type=int, default=1_000)
    parser.add_argument("--single-line-list-cases", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    options = {
        "cases": args.cases,
        "single": min(args.single_cases, args.cases),
        "contacts": args.contacts,
        "batch": args.batch,
        "line_list": args.line_list_cases,
        "single_line_list": min(args.single_line_list_cases, args.line_list_cases),
    }
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xietong-bench-") as folder:
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(folder) / 'casework.sqlite'}"
            figures["sqlite"] = run_backend(url, **options)
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = run_backend(url, **options)
            finally:
                drop_postgresql(args.postgres_url, name)
    for backend in ("sqlite", "postgresql"):
        if backend in figures:
            f = figures[backend]
            s = f["sizes"]
            print(
                f"{backend:>10}: {f['persons']:,} persons (setup {f['setup_seconds']:.0f} s); "
                f"{s['cases']:,} cases, {s['contacts']:,} contacts, {s['orders']:,} orders "
                f"({s['orders_with_bed']:,} with a bed), {s['referral_needs']:,} referral needs\n"
                f"{'':>12}one at a time: {f['single_cases']:,} cases with {args.contacts} "
                f"contacts each in {f['single_seconds']:.1f} s = "
                f"{f['single_cases_per_second']:,.1f} cases/s\n"
                f"{'':>12}in batches of {args.batch:,}: {f['batch_cases']:,} cases in "
                f"{f['batch_seconds']:.1f} s = {f['batch_cases_per_second']:,.1f} cases/s "
                f"({f['speedup']:.1f}x)"
            )
            if "line_list_rows" in f:
                print(
                    f"{'':>12}line lists, a row at a time: {f['by_row_rows']:,} rows in "
                    f"{f['by_row_seconds']:.1f} s = {f['by_row_rows_per_second']:,.1f} rows/s\n"
                    f"{'':>12}line lists, one batch: {f['line_list_rows']:,} rows in "
                    f"{f['line_list_seconds']:.1f} s = {f['line_list_rows_per_second']:,.1f} "
                    f"rows/s ({f['line_list_speedup']:.1f}x)"
                )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
