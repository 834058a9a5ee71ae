"""Server time of every page of the dashboard: median and p95 of N requests per page.

Usage:
  .venv/bin/python -m benchmarks.dashboard --persons 100000 [--days 14] [--requests 20]
        [--screening-share 1.0] [--attack 0.01] [--contacts-per-case 2] [--postgres-url URL]
        [--skip-sqlite] [--keep] [--pages NAME,NAME]
      builds fresh databases of that size (SQLite, and PostgreSQL when a URL is given or
      XIETONG_TEST_DATABASE_URL is set): synthetic buildings and persons (already protected, in
      bulk), `--days` days of screening (every person swabbed every other day, the central urban
      area's interval, in pools of 10 with 0.1 % of the pools positive: tube and result files
      loaded through the screening service and the results intake flow, `--screening-share` of
      each day's swabs), cases over the same days (a growing outbreak infecting the share
      `--attack` of persons registered a day at a time as one batch through the cases service, half
      of them linked into chains, a day's links written as one batch, and `--contacts-per-case`
      close contacts of each, the persons next to it, registered with their quarantine orders as
      one batch through the contacts service), referrals for a third of them (a day's as one batch
      through the referrals service), and the daily aggregates refreshed. `--keep` keeps the
      databases and prints their URLs;
  .venv/bin/python -m benchmarks.dashboard --database-url URL [--requests 20] [--pages …]
      measures an existing database as it is (the twin's city of 10 million persons with 14 days
      of data, or one kept with `--keep`); it only adds three users for the sessions it measures
      with.

Server time is measured inside the application, from the moment the request reaches it to the
last byte of its answer (no network, no browser), with the application built as `xietong serve`
builds it. Every page of the web router is asked for (`PAGES`; a test checks that none is left
out) as the role that works on it: the overview as the command centre, warm (its trend
remembered) and uncached (the first view in a process after the refresh job, which keeps the
pages' results in the database: nothing remembered), with its fragments (the points-and-lines
panels are fetched by the page once drawn), the forecast page both ways too; the work pages as
the coordinator (or a field worker) of the district with the most open referrals; a detail page
shows that district's latest record, and is named as not measured when the database has none.
`--pages` measures only the pages named. The figures printed are what was measured, with the
sizes of the database, the load average, how long each part of the seeding took, and the refresh
job's own cost: the forecast and the trend are computed there, once per change of the daily
series, not by a page view.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from benchmarks.databases import drop_postgresql, fresh_postgresql
from xietong.core.wallclock import SystemClock
from xietong.storage.bulk_sql import table_of

TZ = "Asia/Shanghai"
PERSONS_PER_BUILDING = 100
# One in this many persons stays in another building than its home (often another district).
STAYS_ELSEWHERE_EVERY = 10
# A sampling site for about this many persons of a district.
PERSONS_PER_SITE = 10_000
# The golden ratio's fractional part spreads a share of buildings evenly over the city.
_SPREAD = (math.sqrt(5.0) - 1.0) / 2.0

T = TypeVar("T")


# --- building a database of a given size ---------------------------------------------------------


def _seed(
    url: str,
    *,
    persons: int,
    days: int,
    attack: float,
    rng_seed: int,
    screening_share: float,
    contacts_per_case: int = 2,
) -> dict[str, Any]:
    """Areas, persons, screening, cases over `days` days ending today, referrals, refreshed
    aggregates; with the seconds each part took."""
    from benchmarks.people_import import _prepare
    from xietong.analytics import service as analytics_service
    from xietong.areas import service as areas_service
    from xietong.config import Settings
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    _prepare(url, max(41, persons // PERSONS_PER_BUILDING))
    engine = build_engine(url)
    factory = session_factory(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with unit_of_work(factory, clock=SystemClock()) as session:
        buildings = sorted(areas_service.building_index(session).values(), key=lambda r: r.id)
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(TZ)).date()

    mark = time.perf_counter()
    first_person = _seed_persons(
        factory, protector=protector, buildings=buildings, persons=persons, now=now
    )
    _analyse(engine)
    seconds["persons"] = time.perf_counter() - mark
    _progress(f"{persons:,} persons in {seconds['persons']:.0f} s")

    mark = time.perf_counter()
    screening = _seed_screening(
        factory,
        protector=protector,
        buildings=buildings,
        first_person=first_person,
        persons=persons,
        days=days,
        share=screening_share,
        now=now,
    )
    _analyse(engine)
    seconds["screening"] = time.perf_counter() - mark
    _progress(f"{days} days of screening in {seconds['screening']:.0f} s")

    mark = time.perf_counter()
    cases = _seed_cases(
        factory,
        rng=rng,
        protector=protector,
        first_person=first_person,
        persons=persons,
        days=days,
        attack=attack,
        contacts_per_case=contacts_per_case,
        now=now,
    )
    seconds["cases"] = time.perf_counter() - mark
    _progress(f"{len(cases):,} cases in {seconds['cases']:.0f} s")
    mark = time.perf_counter()
    referrals = _seed_referrals(factory, rng=rng, case_people=cases, now=now)
    seconds["referrals"] = time.perf_counter() - mark
    _progress(f"{referrals:,} referrals in {seconds['referrals']:.0f} s")
    mark = time.perf_counter()
    with unit_of_work(factory, clock=SystemClock()) as session:
        analytics_service.refresh_aggregates(session, now=now, tz=TZ, full=True)
    _analyse(engine)
    seconds["refresh"] = time.perf_counter() - mark
    engine.dispose()
    return {
        "seconds": time.perf_counter() - started,
        "part_seconds": seconds,
        "cases": len(cases),
        "referrals": referrals,
        "screening": screening,
        "last_day": today.isoformat(),
    }


def _progress(message: str) -> None:
    """Where a long seeding is (on stderr, so that the figures on stdout stay clean)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _made_ahead(rows: Iterator[T], *, batch: int = 20_000) -> Iterator[T]:
    """`rows`, made in a thread a few batches ahead: the database's work on one batch (during
    which the driver waits without the GIL) overlaps the making of the next."""
    ready: queue.Queue[list[T] | BaseException | None] = queue.Queue(maxsize=4)

    def make() -> None:
        try:
            while chunk := [row for _, row in zip(range(batch), rows, strict=False)]:
                ready.put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)
            return
        ready.put(None)

    threading.Thread(target=make, daemon=True).start()
    while (item := ready.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield from item


def _analyse(engine: Any) -> None:
    """Fresh planner statistics and visibility map after a bulk load, as an operator runs after
    one: without the map, an index-only scan (who stays in which building, migration 0300) visits
    every row it counts, and a server without autovacuum never sets it (0.5 s instead of 0.16 s
    for the screening page at ten million persons)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM (ANALYZE)"))


def _seed_persons(
    factory: Any, *, protector: Any, buildings: list[Any], persons: int, now: datetime
) -> int:
    """Persons in bulk, stored as the people service stores them (keyed hash and masked form of
    a synthetic national ID, encrypted name, birth date and sex read from the number); return
    the first person's id. Reading and checking a CSV file is `people_import`'s benchmark.

    Persons live 100 to a building in id order; one in ten stays in another building.
    """
    from xietong.auth import service as auth_service
    from xietong.core.principal import SYSTEM
    from xietong.people.identity import mask
    from xietong.people.models import Person
    from xietong.people.synthetic import synthetic_national_id
    from xietong.storage.bulk import bulk_insert
    from xietong.storage.unit_of_work import unit_of_work

    first_birth = date(1940, 1, 1)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(persons):
            home = buildings[min(i // PERSONS_PER_BUILDING, len(buildings) - 1)]
            stay = home
            if i % STAYS_ELSEWHERE_EVERY == 0:
                stay = buildings[(i * 7919) % len(buildings)]
            birth = first_birth + timedelta(days=i // 1000)
            number = synthetic_national_id(serial=i % 1000, birth=birth)
            yield (
                protector.hash_id(number),
                mask(number),
                protector.encrypt(f"居民{i}"),
                birth,
                "M" if int(number[16]) % 2 == 1 else "F",
                home.id,
                home.district_id,
                stay.id,
                stay.district_id,
                now,
                now,
            )

    columns = [
        "id_hash",
        "id_masked",
        "name_enc",
        "birth_date",
        "sex",
        "residence_building_id",
        "residence_district_id",
        "current_building_id",
        "current_district_id",
        "created_at",
        "updated_at",
    ]
    with unit_of_work(factory, clock=SystemClock()) as session:
        inserted = bulk_insert(
            session,
            Person.__table__,  # type: ignore[arg-type]
            columns,
            _made_ahead(rows()),
        )
        auth_service.record_audit(
            session,
            principal=SYSTEM,
            action="import",
            entity="person",
            entity_ids=["*"],
            detail={"source": "benchmarks.dashboard", "inserted": inserted},
        )
        first, last = session.execute(select(func.min(Person.id), func.max(Person.id))).one()
    # The ids came from the sequence in row order: person i is first + i.
    assert inserted == persons and last - first + 1 == persons, (inserted, first, last)
    return int(first)


def _seed_screening(
    factory: Any,
    *,
    protector: Any,
    buildings: list[Any],
    first_person: int,
    persons: int,
    days: int,
    share: float,
    now: datetime,
) -> dict[str, Any]:
    """`days` rounds of screening ending today, written as the day's tube and result files and
    loaded through the screening service and the results intake flow, one transaction each.

    Every person is swabbed every other day (the central urban area's interval, applied to the
    whole synthetic city): the persons of even-numbered home buildings on one day, of odd ones
    on the next, about half of the persons a day. Each queues at a site of the district where
    it stays, with its neighbours (`screening_day`'s queue order), ten to a tube. 0.1 % of the
    pools are positive and 0.05 % of the tubes invalid, as in `screening_day`. With `share` < 1
    only that share of each day's buildings (spread evenly over the city) is swabbed.
    """
    import numpy as np

    from benchmarks.screening_day import INVALID_EVERY, POOL, POSITIVE_EVERY, _members
    from xietong.areas import service as areas_service
    from xietong.core.principal import SYSTEM
    from xietong.flows import intake
    from xietong.screening import service as screening_service
    from xietong.screening.schemas import SiteCreate
    from xietong.storage.unit_of_work import unit_of_work

    zone = ZoneInfo(TZ)
    index = np.arange(persons, dtype=np.int64)
    home = np.minimum(index // PERSONS_PER_BUILDING, len(buildings) - 1)
    stay = np.where(
        index % STAYS_ELSEWHERE_EVERY == 0, (index * 7919) % len(buildings), home
    ).astype(np.int64)
    building_district = np.array([b.district_id for b in buildings], dtype=np.int64)
    # Sites: one per PERSONS_PER_SITE persons staying in a district; a building's site is one of
    # its district's, in turn by building.
    site_codes: dict[int, list[str]] = {}
    with unit_of_work(factory, clock=SystemClock()) as session:
        codes = areas_service.district_code_by_id(session)
        staying = Counter(building_district[stay].tolist())
        for district_id, count in sorted(staying.items()):
            for k in range(max(1, count // PERSONS_PER_SITE)):
                code = f"B{codes[district_id]}{k:04d}"
                screening_service.create_site(
                    session,
                    principal=SYSTEM,
                    site_in=SiteCreate(
                        code=code, name=f"采样点 {code}", district_code=codes[district_id]
                    ),
                    now=now,
                )
                site_codes.setdefault(district_id, []).append(code)
    site_of_building = [
        site_codes[b.district_id][k % len(site_codes[b.district_id])]
        if b.district_id in site_codes
        else None
        for k, b in enumerate(buildings)
    ]
    chosen_buildings = ((np.arange(len(buildings)) // 2) * _SPREAD) % 1.0 < share
    figures: dict[str, Any] = {
        "days": days,
        "share": share,
        "tubes": 0,
        "memberships": 0,
        "positive_pools": 0,
        "seconds_tubes": 0.0,
        "seconds_results": 0.0,
    }
    today = now.astimezone(zone).date()
    with tempfile.TemporaryDirectory(prefix="xietong-dashboard-screening-") as folder:
        tubes_path, results_path = Path(folder) / "tubes.csv", Path(folder) / "results.csv"
        for offset in range(days):
            day = today - timedelta(days=days - 1 - offset)
            # The persons of this day, queued where they stay, neighbours together.
            due = (home % 2 == offset % 2) & chosen_buildings[home]
            queued = index[due][np.lexsort((index[due], stay[due]))]
            tubes = len(queued) // POOL
            if tubes == 0:
                continue
            opens = datetime.combine(day, day_time(7, 0), tzinfo=zone)
            closes = min(
                datetime.combine(day, day_time(19, 0), tzinfo=zone), now - timedelta(minutes=2)
            )
            opens = max(
                datetime.combine(day, day_time(0, 0), tzinfo=zone),
                min(opens, closes - timedelta(hours=1)),
            )
            step = (closes - opens) / tubes
            day_now = min(closes + timedelta(hours=4), now)
            prefix = f"T{day:%y%m%d}"
            with tubes_path.open("w", encoding="utf-8") as out:
                out.write("tube_code,site_code,collected_at,pool_size,person_id\n")
                for t, members in _members(tubes):
                    ids = queued[members]
                    site = site_of_building[int(stay[ids[0]])]
                    at = (opens + step * t).astimezone(UTC).isoformat()
                    head = f"{prefix}{t:08d},{site},{at},{POOL},"
                    out.writelines(f"{head}{first_person + p}\n" for p in ids.tolist())
            with results_path.open("w", encoding="utf-8") as out:
                out.write("tube_code,result,ct_value,lab,reported_at\n")
                for t in range(tubes):
                    reported = min(opens + step * t + timedelta(hours=3), day_now)
                    outcome, ct = "negative", ""
                    if t % POSITIVE_EVERY == POSITIVE_EVERY // 2:
                        outcome, ct = "positive", "27.5"
                    elif t % INVALID_EVERY == 1:
                        outcome = "invalid"
                    out.write(
                        f"{prefix}{t:08d},{outcome},{ct},LAB-{t % 40:02d},"
                        f"{reported.astimezone(UTC).isoformat()}\n"
                    )
            mark = time.perf_counter()
            with (
                unit_of_work(factory, clock=SystemClock()) as session,
                tubes_path.open(encoding="utf-8", newline="") as stream,
            ):
                report = screening_service.register_tubes_file(
                    session,
                    principal=SYSTEM,
                    stream=stream,
                    source_name=f"benchmark {day}",
                    tz=TZ,
                    now=day_now,
                    protector=protector,
                    expected_rows=tubes * POOL,
                )
            figures["seconds_tubes"] += time.perf_counter() - mark
            mark = time.perf_counter()
            with (
                unit_of_work(factory, clock=SystemClock()) as session,
                results_path.open(encoding="utf-8", newline="") as stream,
            ):
                results = intake.ingest_lab_results(
                    session,
                    principal=SYSTEM,
                    stream=stream,
                    source_name=f"benchmark {day}",
                    tz=TZ,
                    now=day_now,
                )
            figures["seconds_results"] += time.perf_counter() - mark
            figures["tubes"] += report.tubes_added
            figures["memberships"] += report.members_added
            figures["positive_pools"] += results.results.pooled_positive
            _progress(
                f"screening {day}: {report.members_added:,} swabs in {report.tubes_added:,} tubes"
            )
    figures["persons_per_day"] = figures["memberships"] / max(1, days)
    return figures


def _seed_cases(
    factory: Any,
    *,
    rng: random.Random,
    protector: Any,
    first_person: int,
    persons: int,
    days: int,
    attack: float,
    contacts_per_case: int,
    now: datetime,
) -> list[tuple[int, datetime]]:
    """A growing outbreak: cases per day double every few days, `attack` of persons in all;
    each day's cases, their links and their close contacts (with quarantine orders) written as
    batches."""
    from xietong.auth import service as auth_service
    from xietong.cases import registration
    from xietong.cases.contacts.batch import ContactOfCase, register_contacts
    from xietong.cases.links import roots as link_roots
    from xietong.cases.links.batch import LINK_COLUMNS
    from xietong.cases.models import TransmissionLink
    from xietong.cases.schemas import CaseCreate, ContactCreate
    from xietong.core.principal import SYSTEM
    from xietong.storage.bulk import bulk_insert
    from xietong.storage.unit_of_work import unit_of_work

    total = max(days, round(persons * attack))
    weights = [1.25**d for d in range(days)]
    per_day = [max(1, round(total * w / sum(weights))) for w in weights]
    # The benchmark picks whom to infect (persons are first_person, first_person + 1, …); the
    # cases service does the rest.
    chosen = [first_person + k for k in rng.sample(range(persons), min(persons, sum(per_day)))]
    infected = set(chosen)
    made: list[tuple[int, datetime]] = []
    case_ids: list[int] = []
    reported_in: dict[int, int] = {}
    figures = {"links": 0, "contacts": 0}
    cursor = 0
    for offset, count in enumerate(per_day):
        day_start = (now - timedelta(days=days - 1 - offset)).replace(
            hour=1, minute=0, second=0, microsecond=0
        )
        people = chosen[cursor : cursor + count]
        cursor += len(people)
        if not people:
            break
        detected = [
            min(now - timedelta(minutes=1), day_start + timedelta(seconds=37 * k))
            for k in range(len(people))
        ]
        with unit_of_work(factory, clock=SystemClock()) as session:
            # The day's cases as one batch, through the same rules as one at a time.
            cases = registration.register_cases(
                session,
                principal=SYSTEM,
                cases=[
                    CaseCreate(
                        person_id=person_id,
                        classification=rng.choice(("confirmed", "asymptomatic")),
                        detected_at=at,
                    )
                    for person_id, at in zip(people, detected, strict=True)
                ],
                now=detected[-1] + timedelta(minutes=1),
                tz=TZ,
            )
            links: list[tuple[Any, ...]] = []
            for case, at in zip(cases, detected, strict=True):
                # Flow investigation links half the cases to an earlier one: chains form, and
                # some cross a district boundary (spillovers). A source is always an earlier
                # case and each case is linked once, so no link closes a cycle.
                reported_in[case.id] = case.report_district_id
                if case_ids and rng.random() < 0.5:
                    source = rng.choice(case_ids[-200:])
                    links.append(
                        (
                            source,
                            case.id,
                            "household",
                            "benchmark",
                            reported_in[source],
                            case.report_district_id,
                            case.report_day,
                            reported_in[source] != case.report_district_id,
                            SYSTEM.username,
                            at + timedelta(minutes=2),
                        )
                    )
                case_ids.append(case.id)
                made.append((case.person_id, at))
            # The day's links in one batch, as `links.service.make_link` writes each (with the
            # chain roots it keeps).
            figures["links"] += bulk_insert(
                session, table_of(TransmissionLink), LINK_COLUMNS, links
            )
            link_roots.joined(session, [(link[0], link[1]) for link in links])
            auth_service.record_audit(
                session,
                principal=SYSTEM,
                action="link",
                entity="case",
                entity_ids=sorted({i for link in links for i in link[:2]}),
                detail={"source": "benchmarks.dashboard", "links": len(links)},
            )
            # The persons next door (in id order, so mostly the same building) are the case's
            # close contacts, each with its quarantine order: one batch through the contacts
            # service.
            contacts = [
                ContactOfCase(
                    case_id=case.id,
                    contact=ContactCreate(
                        person_id=person_id,
                        exposure_kind="household",
                        last_exposure_at=at,
                        quarantine_starts_on=at.astimezone(ZoneInfo(TZ)).date(),
                    ),
                )
                for case, at in zip(cases, detected, strict=True)
                for person_id in _neighbours(
                    case.person_id, first_person, persons, infected, contacts_per_case
                )
            ]
            if contacts:
                figures["contacts"] += len(
                    register_contacts(
                        session,
                        principal=SYSTEM,
                        protector=protector,
                        contacts=contacts,
                        now=detected[-1] + timedelta(minutes=5),
                        tz=TZ,
                    )
                )
    _progress(f"{figures['links']:,} links, {figures['contacts']:,} contacts with their orders")
    return made


def _neighbours(
    person_id: int, first_person: int, persons: int, infected: set[int], count: int
) -> list[int]:
    """Up to `count` persons after `person_id` in id order that are not cases themselves."""
    found: list[int] = []
    step = 1
    while len(found) < count and step <= count + 10:
        other = first_person + (person_id - first_person + step) % persons
        if other not in infected and other != person_id:
            found.append(other)
        step += 1
    return found


def _seed_referrals(
    factory: Any, *, rng: random.Random, case_people: list[tuple[int, datetime]], now: datetime
) -> int:
    """A referral for one case in three, pushed from another district; older ones worked on.

    Each day's referrals are opened as one batch through the referrals service (as an intake
    run opens the referrals of its positives), at the time of the day's last case; those older
    than a day were then worked on in the same transaction, most closed with feedback."""
    from xietong.areas import service as areas_service
    from xietong.core.principal import SYSTEM
    from xietong.people.models import Person
    from xietong.referrals import service as referrals_service
    from xietong.referrals.actions import service as action_service
    from xietong.referrals.states import Action
    from xietong.storage.unit_of_work import unit_of_work

    chosen = case_people[::3]
    with unit_of_work(factory, clock=SystemClock()) as session:
        district_ids = sorted(areas_service.district_code_by_id(session))
        homes: dict[int, int] = {}
        for start in range(0, len(chosen), 10_000):
            part = [p for p, _ in chosen[start : start + 10_000]]
            for person_id, home in session.execute(
                select(Person.id, Person.residence_district_id).where(Person.id.in_(part))
            ):
                homes[person_id] = home
    by_day: dict[date, list[tuple[int, datetime]]] = {}
    for person_id, at in chosen:
        by_day.setdefault(at.astimezone(ZoneInfo(TZ)).date(), []).append((person_id, at))
    opened = 0
    for day_people in by_day.values():
        at = max(when for _, when in day_people)
        causes = []
        for person_id, _ in day_people:
            home = homes[person_id]
            causes.append(
                referrals_service.ReferralCause(
                    person_id=person_id,
                    reason="positive",
                    evidence=f"bench:{person_id}",
                    from_district_id=rng.choice([d for d in district_ids if d != home]),
                    to_district_id=home,
                )
            )
        with unit_of_work(factory, clock=SystemClock()) as session:
            made = referrals_service.open_referrals(
                session, causes=causes, actor=SYSTEM, at=at, tz=TZ
            )
            opened += len(made)
            if now - at <= timedelta(days=1):
                continue
            for referral in made:
                if rng.random() >= 0.8:
                    continue
                step: dict[str, Any] = {"principal": SYSTEM, "referral_id": referral.id, "tz": TZ}
                for minutes, action in (
                    (20, Action.acknowledge),
                    (60, Action.locate),
                    (120, Action.control),
                ):
                    action_service.act(
                        session, action=action, at=at + timedelta(minutes=minutes), **step
                    )
                action_service.close(
                    session, feedback="已集中隔离", at=at + timedelta(hours=3), **step
                )
    return opened


# --- measuring ------------------------------------------------------------------------------------


class ServerTimer:
    """ASGI middleware noting how long each answer took inside the application, and the
    processor time the process spent meanwhile (the client waits: it is the application's). On
    a machine shared with other work the first varies with the load, the second much less."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []

    def clear(self) -> None:
        self.seconds.clear()
        self.cpu_seconds.clear()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, cpu_started = time.perf_counter(), time.process_time()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.seconds.append(time.perf_counter() - started)
                self.cpu_seconds.append(time.process_time() - cpu_started)

        await self.app(scope, receive, timed_send)


def _sizes(engine: Any) -> dict[str, int]:
    # Counting rows for the report only; nothing in the application reads tables this way.
    sizes = {}
    for name, table in (
        ("persons", "people_person"),
        ("cases", "cases_case"),
        ("links", "cases_transmission_link"),
        ("contacts", "cases_close_contact"),
        ("quarantine_orders", "cases_quarantine_order"),
        ("referrals", "referrals_referral"),
        ("tubes", "screening_tube"),
        ("memberships", "screening_membership"),
        ("results", "screening_lab_result"),
        ("holds", "screening_hold"),
        ("aggregate_rows", "analytics_daily_aggregate"),
    ):
        with engine.connect() as connection:
            try:
                sizes[name] = int(
                    connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                )
            except Exception:  # a domain not built in this database
                sizes[name] = -1
    return sizes


def _busiest_inbox(session: Any, now: datetime) -> tuple[int, int]:
    """The district with the most open referrals in its inbox, and how many."""
    from xietong.areas import service as areas_service
    from xietong.core.principal import Principal, Role
    from xietong.referrals.inbox import service as query_service
    from xietong.referrals.states import OPEN

    counts: Counter[int] = Counter()
    for district_id in sorted(areas_service.district_code_by_id(session)):
        reader = Principal(0, "benchmark", Role.district_coordinator, district_id)
        _, total = query_service.list_referrals(
            session, principal=reader, now=now, box="inbox", statuses=sorted(OPEN), limit=1
        )
        counts[district_id] = total
    district_id, total = counts.most_common(1)[0]
    return district_id, total


@dataclass(frozen=True)
class Page:
    """One page measured: its name in the table, its route in the web router, who opens it in
    their daily work, and how to fill the route's record id from the database."""

    name: str
    route: str
    role: str  # a key of the sessions `measure` opens; "anonymous" for no session
    query: str = ""
    # The record shown, found in the database: a key of `_records`' answer.
    record: str | None = None


# Every page of the dashboard, as the role that works on it: the command centre watches the city,
# the coordinator of the district with the most open referrals works its inbox and its cases,
# a field worker of that district traces contacts and searches. The laboratories' pages are
# measured as the command centre, which sees every delivery (a laboratory sees only its own).
PAGES: tuple[Page, ...] = (
    Page("overview", "/overview", "command"),
    Page("overview uncached", "/overview", "command"),
    Page("overview panels", "/overview/panels", "command"),
    Page("points and lines", "/overview/coordination", "command"),
    Page("overview strip", "/overview/strip", "command"),
    Page("overview district", "/overview", "district"),
    Page("inbox", "/referrals", "district"),
    Page("inbox rows", "/referrals/rows", "district"),
    Page("referral", "/referrals/{referral_id}", "district", record="referral"),
    Page("new referral", "/referrals/new", "district"),
    Page("board", "/referrals/board", "command"),
    Page("cases", "/cases", "district"),
    Page("case", "/cases/{case_id}", "district", record="case"),
    Page("person", "/persons/{person_id}", "district", record="person"),
    Page("contacts", "/contacts", "field"),
    Page("quarantine", "/quarantine", "district"),
    Page("quarantine order", "/quarantine/{order_id}", "district", record="order"),
    Page("clusters", "/clusters", "district"),
    Page("cluster", "/clusters/{cluster_id}", "district", record="cluster"),
    Page("line lists", "/line-lists", "district"),
    Page("zones", "/zones", "district"),
    Page("zone", "/zones/{area_id}", "district", record="area"),
    Page("public zones", "/public/zones", "anonymous"),
    Page("screening", "/screening", "district"),
    Page("missed in a building", "/screening/missed", "district", record="building"),
    Page("search id tail", "/search", "field", query="q=1234"),
    Page("search case number", "/search", "field", record="case_number"),
    Page("lab", "/lab", "command"),
    Page("lab delivery", "/lab/batches/{batch_id}", "command", record="batch"),
    Page("resources", "/resources", "command"),
    Page("forecast", "/forecast", "command"),
    Page("forecast uncached", "/forecast", "command"),
    Page("bulletin", "/bulletin", "command"),
    Page("users", "/users", "command"),
    Page("duplicates", "/duplicates", "district"),
    Page("login", "/login", "anonymous"),
)
# Routes of the web router that are not pages a person works on: files, downloads, the landing
# redirect.
NOT_PAGES = ("/", "/static/")
DOWNLOADS = (".csv", ".txt", ".pdf")


def page_routes() -> list[str]:
    """The web router's pages (GET, HTML): what `PAGES` must cover."""
    from xietong.web.router import router

    found = set()
    # Each page module's routes (the router includes them as routers of their own).
    routes = [getattr(r, "original_router", None) or r for r in router.routes]
    for route in (r for included in routes for r in getattr(included, "routes", [included])):
        path = getattr(route, "path", "")
        if "GET" not in getattr(route, "methods", set()):
            continue
        if path == "/" or path.startswith(NOT_PAGES[1]) or path.endswith(DOWNLOADS):
            continue
        found.add(path)
    return sorted(found)


def unmeasured_routes() -> list[str]:
    """Pages of the web router that no entry of `PAGES` measures."""
    return sorted(set(page_routes()) - {page.route for page in PAGES})


def _records(session: Any, *, district_id: int) -> dict[str, str | None]:
    """The records the detail pages show, from the district measured (None: there is none)."""
    from xietong.areas.models import Building
    from xietong.cases.models import Case, Cluster, QuarantineOrder, TransmissionLink
    from xietong.referrals.models import Referral
    from xietong.referrals.states import OPEN
    from xietong.screening.models import ResultBatch
    from xietong.zones.models import RiskArea

    def first(query: Any) -> str | None:
        found = session.scalar(query.limit(1))
        return None if found is None else str(found)

    # The case shown is the district's latest linked case: its page draws its chain.
    case_id = first(
        select(Case.id)
        .where(
            Case.report_district_id == district_id,
            Case.id.in_(select(TransmissionLink.target_case_id)),
        )
        .order_by(Case.id.desc())
    ) or first(select(Case.id).where(Case.report_district_id == district_id))
    person_id = (
        None if case_id is None else first(select(Case.person_id).where(Case.id == int(case_id)))
    )
    # The first building of the district: its persons live there (and some were missed).
    building = first(
        select(Building.code).where(Building.district_id == district_id).order_by(Building.id)
    )
    return {
        "referral": first(
            select(Referral.id)
            .where(Referral.to_district_id == district_id, Referral.status.in_(sorted(OPEN)))
            .order_by(Referral.id.desc())
        ),
        "case": case_id,
        "case_number": None if case_id is None else f"q={case_id}",
        "person": person_id,
        "order": first(
            select(QuarantineOrder.id)
            .where(QuarantineOrder.district_id == district_id)
            .order_by(QuarantineOrder.id.desc())
        ),
        "cluster": first(
            select(Cluster.id).where(Cluster.district_id == district_id).order_by(Cluster.id.desc())
        ),
        "area": first(
            select(RiskArea.id)
            .where(RiskArea.district_id == district_id)
            .order_by(RiskArea.id.desc())
        ),
        "building": None if building is None else f"building={building}",
        "batch": first(select(ResultBatch.id).order_by(ResultBatch.id.desc())),
    }


def _url(page: Page, records: dict[str, str | None], day: date | None) -> str | None:
    """The page's address with its record filled in; None when the database has no record."""
    path, query = page.route, [page.query] if page.query else []
    if page.record is not None:
        value = records[page.record]
        if value is None:
            return None
        if "{" in path:
            path = path[: path.index("{")] + value
        else:
            query.append(value)
    if day is not None and path.startswith("/overview") and path != "/overview/strip":
        query.append(f"day={day.isoformat()}")
    return path + ("?" + "&".join(query) if query else "")


def measure(
    url: str, *, requests: int, day: date | None = None, pages: Sequence[str] | None = None
) -> dict[str, Any]:
    """Median and p95 server time of each page (all, or those named) on the database at `url`."""
    from fastapi.testclient import TestClient

    from xietong.api.app import create_app, freeze_start_up
    from xietong.api.deps import SESSION_COOKIE
    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.schemas import UserCreate
    from xietong.config import Settings
    from xietong.core.principal import Role
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.web import memo

    chosen = [p for p in PAGES if pages is None or p.name in pages]
    engine = build_engine(url)
    now = datetime.now(UTC)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        district_id, open_in_inbox = _busiest_inbox(session, now)
        district_code = areas_service.district_code_by_id(session)[district_id]
        records = _records(session, district_id=district_id)
        tag = uuid.uuid4().hex[:8]
        tokens: dict[str, str | None] = {"anonymous": None}
        for who, role, code in (
            ("command", Role.command, None),
            ("district", Role.district_coordinator, district_code),
            ("field", Role.field_worker, district_code),
        ):
            user = auth_service.create_user(
                session,
                user_in=UserCreate(username=f"bench-{who}-{tag}", role=role, district_code=code),
                district_id=None if code is None else district_id,
                now=datetime.now(UTC),
            )
            tokens[who] = auth_service.issue_token(session, user=user)
    refresh_job = _refresh_job(engine)
    timer = ServerTimer(create_app(Settings(database_url=url, run_workers=False), engine=engine))
    # As `xietong serve` does once the application is built (see `freeze_start_up`).
    freeze_start_up()
    figures: dict[str, Any] = {
        "sizes": _sizes(engine),
        "inbox_district": district_code,
        "inbox_open_referrals": open_in_inbox,
        "pages": {},
        "no_record": [],
        "load_average": os.getloadavg(),
        "refresh_job": refresh_job,
    }
    with TestClient(timer) as client:
        for page in chosen:
            address = _url(page, records, day)
            if address is None:
                figures["no_record"].append(page.name)
                continue
            token = tokens[page.role]
            client.cookies.clear()
            if token is not None:
                client.cookies.set(SESSION_COOKIE, token)
            uncached = page.name.endswith("uncached")
            for _ in range(2):  # warm-up: first imports, compiled templates, cold caches
                response = client.get(address)
                assert response.status_code == 200, (address, response.status_code)
            timer.clear()
            for _ in range(requests):
                if uncached:
                    # The first view in a process after the refresh job ran: nothing remembered,
                    # the results the job kept in the database.
                    memo.forget()
                response = client.get(address)
                assert response.status_code == 200, (address, response.text[:500])
            figures["pages"][page.name] = {
                "path": address,
                "role": page.role,
                **_summary(timer.seconds, timer.cpu_seconds),
            }
    engine.dispose()
    return figures


def _refresh_job(engine: Any, *, runs: int = 3) -> dict[str, Any]:
    """The refresh job's own cost, where the pages' first views no longer pay: runs that compute
    the pages' results afresh (as after the daily series changed: those kept are dropped first,
    and the process's memory), then runs that find them kept (nothing changed)."""
    from sqlalchemy import delete

    from xietong.analytics import tasks
    from xietong.analytics.models import PageResult
    from xietong.storage.engine import session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.web import memo

    factory = session_factory(engine)
    afresh: list[float] = []
    afresh_cpu: list[float] = []
    kept: list[float] = []
    computed: list[str] = []
    for _ in range(runs):
        with unit_of_work(factory, clock=SystemClock()) as session:
            session.execute(delete(PageResult))
        memo.forget()
        wall, cpu = time.perf_counter(), time.process_time()
        computed = tasks.run_refresh(factory, clock=SystemClock(), tz=TZ).results_computed
        afresh.append(time.perf_counter() - wall)
        afresh_cpu.append(time.process_time() - cpu)
    for _ in range(runs):
        wall = time.perf_counter()
        tasks.run_refresh(factory, clock=SystemClock(), tz=TZ)
        kept.append(time.perf_counter() - wall)
    return {
        "computed": computed,
        "afresh": _summary(afresh, afresh_cpu),
        "kept_median_ms": statistics.median(kept) * 1000,
    }


def _summary(seconds: list[float], cpu_seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
        "cpu_median_ms": statistics.median(cpu_seconds) * 1000,
        "requests": len(ordered),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="Measure this existing database as it is.")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--attack", type=float, default=0.01, help="Share of persons infected.")
    parser.add_argument(
        "--contacts-per-case",
        type=int,
        default=2,
        help="Close contacts registered for each case (each with its quarantine order).",
    )
    parser.add_argument(
        "--screening-share",
        type=float,
        default=1.0,
        help="Share of each day's swabs loaded (1.0: every person every other day).",
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--day", type=date.fromisoformat, help="Overview day (default: today).")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="Keep the databases built; print their URLs."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pages",
        help="Measure only these pages (names as printed, comma-separated; default: every page).",
    )
    args = parser.parse_args(argv)
    if not 0.0 <= args.screening_share <= 1.0:
        parser.error("--screening-share must lie in [0, 1]")
    pages = None
    if args.pages:
        pages = [name.strip() for name in args.pages.split(",") if name.strip()]
        unknown = sorted(set(pages) - {p.name for p in PAGES})
        if unknown:
            parser.error(
                f"--pages: no page {', '.join(unknown)}; the pages are: "
                + ", ".join(p.name for p in PAGES)
            )
    figures: dict[str, Any] = {}
    if args.database_url:
        figures["given"] = measure(
            args.database_url, requests=args.requests, day=args.day, pages=pages
        )
    else:
        folder = tempfile.mkdtemp(prefix="xietong-bench-")
        targets: list[tuple[str, str, str | None]] = []
        if not args.skip_sqlite:
            targets.append(("sqlite", f"sqlite:///{Path(folder) / 'dashboard.sqlite'}", None))
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            targets.append(("postgresql", url, name))
        try:
            for backend, url, _ in targets:
                seeded = _seed(
                    url,
                    persons=args.persons,
                    days=args.days,
                    attack=args.attack,
                    rng_seed=args.seed,
                    screening_share=args.screening_share,
                    contacts_per_case=args.contacts_per_case,
                )
                figures[backend] = measure(url, requests=args.requests, day=args.day, pages=pages)
                figures[backend]["seeded"] = seeded
                figures[backend]["url"] = url
        finally:
            if not args.keep:
                for _, _, database in targets:
                    if database is not None:
                        drop_postgresql(args.postgres_url, database)
                shutil.rmtree(folder, ignore_errors=True)
    for backend, f in figures.items():
        sizes = ", ".join(f"{k} {v:,}" for k, v in f["sizes"].items())
        print(
            f"{backend}: {sizes}; inbox of {f['inbox_district']} ({f['inbox_open_referrals']} open)"
        )
        seeded = f.get("seeded")
        if seeded is not None:
            screening = seeded["screening"]
            parts = ", ".join(f"{k} {v:.0f} s" for k, v in seeded["part_seconds"].items())
            print(
                f"  seeded in {seeded['seconds']:.0f} s ({parts}); screening: {screening['days']} "
                f"days, share {screening['share']:g} of each day's swabs loaded "
                f"({screening['persons_per_day']:,.0f} swabs a day, "
                f"{screening['positive_pools']:,} positive pools; tube files "
                f"{screening['seconds_tubes']:.0f} s, result files "
                f"{screening['seconds_results']:.0f} s)"
            )
        load = ", ".join(f"{x:.1f}" for x in f["load_average"])
        print(f"  server time per page, ms (load average {load} when measured):")
        print(
            f"  {'page':<22} {'role':<9} {'median':>8} {'p95':>8} {'max':>8} {'app cpu':>8}"
            "  address"
        )
        for name, p in f["pages"].items():
            print(
                f"  {name:<22} {p['role']:<9} {p['median_ms']:>8.1f} {p['p95_ms']:>8.1f} "
                f"{p['max_ms']:>8.1f} {p['cpu_median_ms']:>8.1f}  {p['path']}"
            )
        job = f["refresh_job"]
        print(
            f"  refresh job (the aggregates, then the pages' results): "
            f"{job['afresh']['median_ms']:.0f} ms median, {job['afresh']['max_ms']:.0f} ms max, "
            f"{job['afresh']['cpu_median_ms']:.0f} ms cpu when it computes "
            f"{', '.join(job['computed']) or 'nothing'}; {job['kept_median_ms']:.0f} ms when "
            "they are kept already"
        )
        if f["no_record"]:
            print(
                f"  not measured, no record to show in this database: {', '.join(f['no_record'])}"
            )
        missing = unmeasured_routes()
        if missing:
            print(f"  pages of the web router not measured: {', '.join(missing)}")
        if args.keep and "url" in f:
            print(f"  kept: --database-url {f['url']}")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
