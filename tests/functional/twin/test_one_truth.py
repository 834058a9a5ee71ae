"""One clock and one truth on every screen, on the replayed twin.

A small city's outbreak is replayed as the demo does it (`build_and_replay`) into a fresh database
of each backend, then served as the demo serves it: on a clock set to the close of the replay's
last day, which the test holds and moves. Through the API and the pages, as the command centre,
district coordinators, the laboratory and a viewer: no stored or shown time is later than the
server's now; a referral is overdue exactly from its deadline on; escalations carry the server's
(replayed) time; each board tile is the length of its list; the overview's panels are of one day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from tests.factories.web import csrf_of
from xietong.api.app import create_app
from xietong.bootstrap import prepare_database
from xietong.cli.twin import build_and_replay
from xietong.config import Settings
from xietong.core.clock import FixedClock
from xietong.models import metadata
from xietong.referrals.models import Referral, ReferralEvent
from xietong.referrals.states import OPEN, Status
from xietong.storage.engine import build_engine, session_factory
from xietong.twin.replay import START_DAY, day_closes
from xietong.twin.users import DEMO_PASSWORD

TZ = "Asia/Shanghai"
POPULATION = 2_000
DAYS = 6
SEED = 31
INTENSITY = 60.0  # as the replay's own test: enough cases, referrals and escalations in six days
LAST_DAY = START_DAY + timedelta(days=DAYS - 1)
# Times that are about the future by nature: deadlines, expiries, the next try of a delivery.
FUTURE_BY_NATURE = {
    "acknowledge_due_at",
    "control_due_at",
    "expires_at",
    "next_attempt_at",
    "leased_until",
    "next_deadline",
}
PAGES = (
    "/overview",
    "/overview/coordination",
    "/referrals",
    "/referrals?box=outbox",
    "/referrals?box=all&status=all&limit=200",
    "/referrals/board",
    "/cases",
    "/zones",
    "/lab",
    "/screening",
    "/resources",
    "/bulletin",
    "/public/zones",
)
API = (
    "/api/referrals?box=all&limit=500",
    "/api/cases?limit=500",
    "/api/cases/clusters",
    "/api/cases/chains",
    "/api/cases/quarantine-orders?limit=500",
    "/api/zones",
    "/api/public/zones",
    "/api/screening/retests",
    "/api/resources/plans",
    "/api/analytics/trend",
    "/api/reports/bulletin",
)
# Times as pages print them: "2022-11-06 23:10", and "11-06 23:10" in tables.
SHOWN_TIME = re.compile(r"(?<![\d-])((?:\d{4}-)?\d{2}-\d{2} \d{2}:\d{2})\b")
# A countdown's title is its deadline.
DEADLINE_TITLE = re.compile(r'(<span class="countdown[^>]*?) title="[^"]*"')
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass
class Served:
    """The replayed city served on a clock the test holds."""

    engine: Engine
    settings: Settings
    clock: FixedClock
    opened_at: datetime  # the server's now when it starts: the close of the last day
    client: TestClient
    coordinators: list[str]

    def session(self) -> Session:
        return session_factory(self.engine)()

    def log_in(self, username: str) -> None:
        self.client.cookies.clear()
        response = self.client.post(
            "/login",
            data={"username": username, "password": DEMO_PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    dropped = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('truth') / 'twin.sqlite'}"
    else:
        assert PG_URL is not None
        url, dropped = _fresh_postgresql_database(PG_URL)
    engine = build_engine(url)
    prepare_database(engine)
    settings = Settings(database_url=url, run_workers=False, timezone=TZ)
    build_and_replay(
        engine, settings, population=POPULATION, days=DAYS, seed=SEED, intensity=INTENSITY
    )
    opened_at = day_closes(LAST_DAY, TZ).astimezone(UTC)
    clock = FixedClock(opened_at)
    app = create_app(settings, engine=engine, clock=clock)
    with session_factory(engine)() as session:
        receivers = session.scalars(select(Referral.to_district_id).distinct()).all()
        senders = session.scalars(select(Referral.from_district_id).distinct()).all()
        from xietong.areas.models import District

        codes = session.scalars(
            select(District.code).where(District.id.in_({*receivers, *senders}))
        ).all()
    with TestClient(app) as client:
        yield Served(
            engine,
            settings,
            clock,
            opened_at,
            client,
            coordinators=[f"coord-{code}" for code in sorted(codes)],
        )
    engine.dispose()
    if dropped is not None:
        assert PG_URL is not None
        _drop_postgresql_database(PG_URL, dropped)


def users(served: Served) -> list[str]:
    return ["command", *served.coordinators, "lab", "viewer"]


# --- reading times off pages and answers ---------------------------------------------------------


def shown_times(html: str, tz: str = TZ) -> list[datetime]:
    """Every time a page prints (a year left out is the replay's), deadlines excepted."""
    zone = ZoneInfo(tz)
    text = DEADLINE_TITLE.sub(r"\1", html)
    return [
        datetime.strptime(t if len(t) > 11 else f"{START_DAY.year}-{t}", "%Y-%m-%d %H:%M").replace(
            tzinfo=zone
        )
        for t in SHOWN_TIME.findall(text)
    ]


def answered_times(value: Any, key: str = "") -> Iterator[tuple[str, datetime]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from answered_times(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from answered_times(v, key)
    elif isinstance(value, str) and ISO_TIME.match(value) and key not in FUTURE_BY_NATURE:
        yield key, datetime.fromisoformat(value)


def server_now(html: str) -> datetime:
    match = re.search(r'<body[^>]*data-server-now="([^"]+)"', html)
    assert match is not None
    return datetime.fromisoformat(match.group(1))


def row_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-row-id="(\d+)"', html)}


def tile(html: str, name: str) -> int:
    match = re.search(rf'id="tile-{name}"[^>]*><b>([\d,]+)</b>', html)
    assert match is not None, name
    return int(match.group(1).replace(",", ""))


def referral_row(html: str, referral_id: int) -> str:
    return html.split(f'data-row-id="{referral_id}"')[1].split("</tr>")[0]


# --- the checks ----------------------------------------------------------------------------------


def test_the_replay_gave_referrals_escalations_and_every_role_something_to_see(
    served: Served,
) -> None:
    with served.session() as session:
        actions = set(session.scalars(select(ReferralEvent.action).distinct()))
    assert {"pushed", "acknowledged", "closed", "escalated"} <= actions
    assert served.coordinators


def test_no_time_stored_or_shown_is_later_than_the_servers_now(served: Served) -> None:
    now = served.opened_at
    for username in users(served):
        served.log_in(username)
        for path in PAGES:
            page = served.client.get(path)
            if page.status_code in (401, 403):
                continue
            assert page.status_code == 200, (username, path, page.text[:300])
            if "data-server-now" in page.text:
                assert server_now(page.text) == now, (username, path)
            late = [t for t in shown_times(page.text) if t > now]
            assert late == [], (username, path, late)
        for path in API:
            answer = served.client.get(path)
            if answer.status_code in (401, 403, 404):
                continue
            assert answer.status_code == 200, (username, path, answer.text[:300])
            late = [(k, t) for k, t in answered_times(answer.json()) if t > now]
            assert late == [], (username, path, late)
    served.log_in("command")
    with served.session() as session:
        shown = session.scalars(select(Referral.id).order_by(Referral.id)).all()
    for referral_id in shown:
        page = served.client.get(f"/referrals/{referral_id}")
        assert page.status_code == 200
        read = served.client.get(f"/api/referrals/{referral_id}").json()
        deadlines = {
            datetime.fromisoformat(read[k]) for k in ("acknowledge_due_at", "control_due_at")
        }
        late = [t for t in shown_times(page.text) if t > now and t not in deadlines]
        assert late == [], (referral_id, late)
        assert all(t <= now for _, t in answered_times(read))

    later: list[tuple[str, datetime]] = []
    with served.session() as session:
        for table in metadata().sorted_tables:
            for column in table.columns:
                if column.name in FUTURE_BY_NATURE or not _is_instant(column):
                    continue
                newest = session.scalar(select(sa.func.max(column)))
                if newest is not None and newest > now:
                    later.append((f"{table.name}.{column.name}", newest))
    assert later == [], later


def _is_instant(column: sa.Column[Any]) -> bool:
    kind = column.type
    impl = getattr(kind, "impl", kind)
    return isinstance(kind, sa.DateTime) or isinstance(impl, sa.DateTime)


def test_a_referral_is_overdue_exactly_when_its_deadline_has_passed(served: Served) -> None:
    served.log_in("command")
    pushed = served.client.post(
        "/api/referrals",
        json={
            "person_id": _a_person_staying_elsewhere(served),
            "reason": "manual",
            "evidence": "one-clock",
            "from_district_code": served.coordinators[0].removeprefix("coord-"),
            "to_district_code": served.coordinators[1].removeprefix("coord-"),
        },
        headers={"X-CSRF-Token": csrf_of(served.client)},
    )
    assert pushed.status_code == 201, pushed.text
    fresh = pushed.json()["referral"]
    assert datetime.fromisoformat(fresh["pushed_at"]) == served.opened_at
    with served.session() as session:
        open_ones = session.execute(
            select(
                Referral.id, Referral.status, Referral.acknowledge_due_at, Referral.control_due_at
            )
            .where(Referral.status.in_([s.value for s in OPEN]))
            .order_by(Referral.id)
        ).all()
    assert fresh["id"] in {r.id for r in open_ones}
    try:
        for referral_id, status, acknowledge_due, control_due in open_ones:
            deadline = acknowledge_due if status == Status.pushed.value else control_due
            # "Within an hour" includes the hour: an answer at the deadline is on time, so the
            # referral is overdue from the first second after it (`referrals.sla`).
            for instant, overdue in (
                (deadline - timedelta(seconds=1), False),
                (deadline, False),
                (deadline + timedelta(seconds=1), True),
                (deadline + timedelta(hours=1), True),
            ):
                served.at(instant)
                read = served.client.get(f"/api/referrals/{referral_id}").json()
                assert read["overdue"] is overdue, (referral_id, status, instant)
                listed = row_ids(
                    served.client.get("/referrals?box=overdue&status=open&limit=200").text
                )
                assert (referral_id in listed) is overdue
                inbox = served.client.get("/referrals?box=all&status=open&limit=200").text
                assert f'data-overdue="{int(overdue)}"' in referral_row(inbox, referral_id)
    finally:
        served.at(served.opened_at)


def _a_person_staying_elsewhere(served: Served) -> int:
    from xietong.areas.models import District
    from xietong.people.models import Person

    code = served.coordinators[1].removeprefix("coord-")
    with served.session() as session:
        district = session.scalars(select(District.id).where(District.code == code)).one()
        return session.scalars(
            select(Person.id).where(Person.residence_district_id == district).limit(1)
        ).one()


def test_each_board_tile_is_the_length_of_its_list_at_every_hour(served: Served) -> None:
    served.log_in("command")
    try:
        for hours in (0, 0.5, 1, 2, 5, 30):
            instant = served.opened_at + timedelta(hours=hours)
            served.at(instant)
            served.log_in("command")  # a dashboard session lasts a shift, not 30 hours
            board = served.client.get("/referrals/board").text
            # The pairs' earliest missed deadlines are past, like every time the board shows.
            assert all(t <= instant for t in shown_times(board)), hours
            for name, box in (
                ("overdue", "overdue"),
                ("due-soon", "due_soon"),
                ("escalated", "escalated"),
            ):
                listed = row_ids(served.client.get(f"/referrals?box={box}&status=open").text)
                assert tile(board, name) == len(listed), (hours, name)
            api = served.client.get("/api/referrals?box=overdue&limit=500").json()
            flagged = {item["id"] for item in api["items"]}
            assert flagged == row_ids(
                served.client.get("/referrals?box=overdue&status=open&limit=200").text
            )
    finally:
        served.at(served.opened_at)


def test_escalations_carry_the_servers_replayed_time(served: Served) -> None:
    from xietong.api.jobs import periodic_jobs
    from xietong.storage.unit_of_work import unit_of_work

    later = served.opened_at + timedelta(hours=5)
    served.at(later)
    try:
        factory = session_factory(served.engine)
        # What the server's workers do every 30 s, on the one clock the application was given.
        clock = served.client.app.state.clock  # type: ignore[attr-defined]
        assert clock is served.clock
        for job in periodic_jobs():
            with unit_of_work(factory, clock=clock) as session:
                job.run(session, served.settings, clock.now())
    finally:
        served.at(served.opened_at)
    with served.session() as session:
        escalations = session.scalars(
            select(ReferralEvent.at).where(ReferralEvent.action == "escalated")
        ).all()
        fresh = [at for at in escalations if at > served.opened_at]
    first = datetime.combine(START_DAY, datetime.min.time(), tzinfo=ZoneInfo(TZ))
    assert escalations and all(first <= at <= later for at in escalations)
    assert fresh and set(fresh) == {later}


def test_every_panel_of_the_overview_is_of_one_day(served: Served) -> None:
    shown = LAST_DAY - timedelta(days=1)  # the last complete day before the server's now
    for username in ("command", *served.coordinators[:3], "viewer"):
        served.log_in(username)
        page = served.client.get("/overview").text
        days = set(re.findall(r'data-day="(\d{4}-\d{2}-\d{2})"', page))
        days |= set(re.findall(r"· (\d{4}-\d{2}-\d{2})", page))
        assert days == {shown.isoformat()}, username
        panels = served.client.get(f"/overview/coordination?day={shown.isoformat()}")
        if panels.status_code == 200:
            assert all(
                date.fromisoformat(d) <= shown
                for d in re.findall(r"\d{4}-\d{2}-\d{2}", panels.text)
            )


def data_as_of(html: str) -> str:
    match = re.search(r'id="as-of">数据时间：([^<]+)<', html)
    assert match is not None
    return match.group(1)


def local_text(at: datetime) -> str:
    return at.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")


def test_the_referral_pages_are_as_of_their_newest_fact_not_their_rendering(
    served: Served,
) -> None:
    with served.session() as session:
        newest = session.scalar(select(sa.func.max(Referral.updated_at)))
        one, last_event = session.execute(
            select(ReferralEvent.referral_id, sa.func.max(ReferralEvent.at))
            .group_by(ReferralEvent.referral_id)
            .order_by(ReferralEvent.referral_id)
        ).first() or (None, None)
    assert newest is not None and one is not None and last_event is not None
    later = newest + timedelta(minutes=30)  # rendered well after the last change
    served.at(later)
    try:
        served.log_in("command")
        for path in ("/referrals", "/referrals/board"):
            page = served.client.get(path).text
            assert data_as_of(page) == local_text(newest), path
            assert server_now(page) == later
        page = served.client.get(f"/referrals/{one}").text
        assert data_as_of(page) == local_text(last_event)
    finally:
        served.at(served.opened_at)
