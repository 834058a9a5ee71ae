"""Server time of the dashboard's overview and referral inbox: median and p95 of N requests.

Usage:
  .venv/bin/python -m benchmarks.dashboard --persons 100000 [--days 14] [--requests 20]
        [--postgres-url URL] [--skip-sqlite]
      builds fresh databases of that size (SQLite, and PostgreSQL when a URL is given or
      XIETONG_TEST_DATABASE_URL is set): synthetic buildings and persons, `--days` days of cases
      (a growing outbreak infecting the share `--attack` of persons, half of the cases linked
      into chains), referrals for a third of them, and the daily aggregates refreshed;
  .venv/bin/python -m benchmarks.dashboard --database-url URL [--requests 20]
      measures an existing database as it is (the twin's city of 10 million persons with 14 days
      of data); it only adds two users for the sessions it measures with.

Server time is measured inside the application, from the moment the request reaches it to the
last byte of its answer (no network, no browser). The overview is asked for the last day of
data as a command-centre user, warm (its trend remembered) and after the daily series changed;
its points-and-lines panels, which the page fetches once drawn, are timed apart; the inbox as the
coordinator of the district with the most open referrals. The figures printed are what was
measured, with the sizes of the database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

TZ = "Asia/Shanghai"
PERSONS_PER_BUILDING = 100


# --- building a database of a given size ---------------------------------------------------------


def _seed(url: str, *, persons: int, days: int, attack: float, rng_seed: int) -> dict[str, Any]:
    """Areas, persons, cases over `days` days ending today, referrals, refreshed aggregates."""
    from benchmarks.people_import import _prepare, write_persons_csv
    from xietong.analytics import service as analytics_service
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM
    from xietong.people import service as people_service
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    started = time.perf_counter()
    codes = _prepare(url, max(41, persons // PERSONS_PER_BUILDING))
    engine = build_engine(url)
    factory = session_factory(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with tempfile.TemporaryDirectory(prefix="xietong-dashboard-") as folder:
        csv_path = Path(folder) / "persons.csv"
        write_persons_csv(csv_path, persons=persons, building_codes=codes)
        with (
            unit_of_work(factory) as session,
            csv_path.open(encoding="utf-8", newline="") as stream,
        ):
            people_service.import_persons(
                session, principal=SYSTEM, protector=protector, stream=stream
            )
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(TZ)).date()
    cases = _seed_cases(factory, rng=rng, persons=persons, days=days, attack=attack, now=now)
    referrals = _seed_referrals(factory, rng=rng, case_people=cases, now=now)
    with unit_of_work(factory) as session:
        analytics_service.refresh_aggregates(session, now=now, tz=TZ, full=True)
    engine.dispose()
    return {
        "seconds": time.perf_counter() - started,
        "cases": len(cases),
        "referrals": referrals,
        "last_day": today.isoformat(),
    }


def _seed_cases(
    factory: Any, *, rng: random.Random, persons: int, days: int, attack: float, now: datetime
) -> list[tuple[int, datetime]]:
    """A growing outbreak: cases per day double every few days, `attack` of persons in all."""
    from xietong.cases import link_service
    from xietong.cases import service as cases_service
    from xietong.cases.schemas import CaseCreate, LinkCreate
    from xietong.core.principal import SYSTEM
    from xietong.people.models import Person
    from xietong.storage.unit_of_work import unit_of_work

    total = max(days, round(persons * attack))
    weights = [1.25**d for d in range(days)]
    per_day = [max(1, round(total * w / sum(weights))) for w in weights]
    with unit_of_work(factory) as session:
        # The benchmark picks whom to infect; the cases service does the rest.
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
    chosen = rng.sample(ids, min(len(ids), sum(per_day)))
    made: list[tuple[int, datetime]] = []
    case_ids: list[int] = []
    cursor = 0
    for offset, count in enumerate(per_day):
        day_start = (now - timedelta(days=days - 1 - offset)).replace(
            hour=1, minute=0, second=0, microsecond=0
        )
        with unit_of_work(factory) as session:
            for k in range(count):
                if cursor >= len(chosen):
                    break
                person_id = chosen[cursor]
                cursor += 1
                detected = min(now - timedelta(minutes=1), day_start + timedelta(seconds=37 * k))
                case = cases_service.create_case(
                    session,
                    principal=SYSTEM,
                    case_in=CaseCreate(
                        person_id=person_id,
                        classification=rng.choice(("confirmed", "asymptomatic")),
                        detected_at=detected,
                    ),
                    now=detected + timedelta(minutes=1),
                    tz=TZ,
                )
                # Flow investigation links half the cases to an earlier one: chains form, and
                # some cross a district boundary (spillovers).
                if case_ids and rng.random() < 0.5:
                    link_service.create_link(
                        session,
                        principal=SYSTEM,
                        link_in=LinkCreate(
                            source_case_id=rng.choice(case_ids[-200:]),
                            target_case_id=case.id,
                            evidence_kind="household",
                            evidence="benchmark",
                        ),
                        now=detected + timedelta(minutes=2),
                    )
                case_ids.append(case.id)
                made.append((person_id, detected))
    return made


def _seed_referrals(
    factory: Any, *, rng: random.Random, case_people: list[tuple[int, datetime]], now: datetime
) -> int:
    """A referral for one case in three, pushed from another district; older ones worked on."""
    from xietong.areas import service as areas_service
    from xietong.core.principal import SYSTEM
    from xietong.people.models import Person
    from xietong.referrals import action_service
    from xietong.referrals import service as referrals_service
    from xietong.storage.unit_of_work import unit_of_work

    opened = 0
    with unit_of_work(factory) as session:
        district_ids = sorted(areas_service.district_code_by_id(session))
        homes = dict(
            session.execute(
                select(Person.id, Person.residence_district_id).where(
                    Person.id.in_([p for p, _ in case_people[::3]])
                )
            ).all()
        )
    for person_id, at in case_people[::3]:
        home = homes[person_id]
        sender = rng.choice([d for d in district_ids if d != home])
        with unit_of_work(factory) as session:
            made = referrals_service.open_referrals(
                session,
                causes=[
                    referrals_service.ReferralCause(
                        person_id=person_id,
                        reason="positive",
                        evidence=f"bench:{person_id}",
                        from_district_id=sender,
                        to_district_id=home,
                    )
                ],
                actor=SYSTEM,
                at=at,
                tz=TZ,
            )
            opened += len(made)
            # Referrals older than a day were worked on: most closed with feedback.
            if made and now - at > timedelta(days=1) and rng.random() < 0.8:
                step = {"principal": SYSTEM, "referral_id": made[0].id, "tz": TZ}
                action_service.acknowledge(session, at=at + timedelta(minutes=20), **step)
                action_service.mark_located(session, at=at + timedelta(hours=1), **step)
                action_service.mark_controlled(session, at=at + timedelta(hours=2), **step)
                action_service.close(
                    session, feedback="已集中隔离", at=at + timedelta(hours=3), **step
                )
    return opened


# --- measuring ------------------------------------------------------------------------------------


class ServerTimer:
    """ASGI middleware noting how long each answer took inside the application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.seconds.append(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


def _sizes(engine: Any) -> dict[str, int]:
    # Counting rows for the report only; nothing in the application reads tables this way.
    sizes = {}
    with engine.connect() as connection:
        for name, table in (
            ("persons", "people_person"),
            ("cases", "cases_case"),
            ("links", "cases_transmission_link"),
            ("referrals", "referrals_referral"),
            ("aggregate_rows", "analytics_daily_aggregate"),
        ):
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
    from xietong.referrals import query_service
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


def measure(url: str, *, requests: int, day: date | None = None) -> dict[str, Any]:
    """Median and p95 server time of the overview and the inbox on the database at `url`."""
    from fastapi.testclient import TestClient

    from xietong.api.app import create_app
    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.dependencies import SESSION_COOKIE
    from xietong.auth.schemas import UserCreate
    from xietong.config import Settings
    from xietong.core.principal import Role
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.web import memo

    engine = build_engine(url)
    now = datetime.now(UTC)
    with unit_of_work(session_factory(engine)) as session:
        district_id, open_in_inbox = _busiest_inbox(session, now)
        district_code = areas_service.district_code_by_id(session)[district_id]
        tag = uuid.uuid4().hex[:8]
        command = auth_service.create_user(
            session, user_in=UserCreate(username=f"bench-command-{tag}", role=Role.command)
        )
        coordinator = auth_service.create_user(
            session,
            user_in=UserCreate(
                username=f"bench-district-{tag}",
                role=Role.district_coordinator,
                district_code=district_code,
            ),
        )
        tokens = {
            "command": auth_service.issue_token(session, user=command),
            "district": auth_service.issue_token(session, user=coordinator),
        }
    timer = ServerTimer(create_app(Settings(database_url=url, run_workers=False), engine=engine))
    overview_path = f"/overview?day={day.isoformat()}" if day else "/overview"
    figures: dict[str, Any] = {
        "sizes": _sizes(engine),
        "inbox_district": district_code,
        "inbox_open_referrals": open_in_inbox,
    }
    with TestClient(timer) as client:
        panels_path = overview_path.replace("/overview", "/overview/coordination")
        for name, path, who in (
            ("overview", overview_path, "command"),
            ("overview_panels", panels_path, "command"),
            ("inbox", "/referrals", "district"),
        ):
            client.cookies.set(SESSION_COOKIE, tokens[who])
            for _ in range(2):  # warm-up: first imports, compiled templates, cold caches
                assert client.get(path).status_code == 200
            timer.seconds.clear()
            for _ in range(requests):
                response = client.get(path)
                assert response.status_code == 200, response.text[:500]
            figures[name] = _summary(timer.seconds)
            if name == "overview":
                # The first view after the daily series changed computes the trend afresh.
                timer.seconds.clear()
                for _ in range(requests):
                    memo.forget()
                    assert client.get(path).status_code == 200
                figures["overview_uncached"] = _summary(timer.seconds)
    engine.dispose()
    return figures


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
        "requests": len(ordered),
    }


# --- databases -----------------------------------------------------------------------------------


def _fresh_postgresql(admin_url: str) -> tuple[str, str]:
    from xietong.storage.engine import normalise_url

    name = f"xietong_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalise_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgresql(admin_url: str, name: str) -> None:
    from xietong.storage.engine import normalise_url

    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="Measure this existing database as it is.")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--attack", type=float, default=0.01, help="Share of persons infected.")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--day", type=date.fromisoformat, help="Overview day (default: today).")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.database_url:
        figures["given"] = measure(args.database_url, requests=args.requests, day=args.day)
    else:
        with tempfile.TemporaryDirectory(prefix="xietong-bench-") as folder:
            targets: list[tuple[str, str, str | None]] = []
            if not args.skip_sqlite:
                targets.append(("sqlite", f"sqlite:///{Path(folder) / 'dashboard.sqlite'}", None))
            if args.postgres_url:
                url, name = _fresh_postgresql(args.postgres_url)
                targets.append(("postgresql", url, name))
            try:
                for backend, url, _ in targets:
                    seeded = _seed(
                        url,
                        persons=args.persons,
                        days=args.days,
                        attack=args.attack,
                        rng_seed=args.seed,
                    )
                    figures[backend] = measure(url, requests=args.requests, day=args.day)
                    figures[backend]["seeded"] = seeded
            finally:
                for _, _, name in targets:
                    if name is not None:
                        _drop_postgresql(args.postgres_url, name)
    for backend, f in figures.items():
        sizes = ", ".join(f"{k} {v:,}" for k, v in f["sizes"].items())
        print(
            f"{backend}: {sizes}; inbox of {f['inbox_district']} ({f['inbox_open_referrals']} open)"
        )
        for page in ("overview", "overview_uncached", "overview_panels", "inbox"):
            p = f[page]
            print(
                f"  {page:>17}: median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms, "
                f"max {p['max_ms']:.1f} ms over {p['requests']} requests"
            )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
