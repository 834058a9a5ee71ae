"""The replay: the twin's outbreak lived through the real services, day by day.

A small city (2,500 persons) with its outbreak made sixty times denser than the reference
scenario, so that it reports as many infections a day as a city of 150,000 would, is replayed over
1-14 November 2022 into a fresh database of each backend, once for the module.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.api.app import create_app
from xietong.areas.models import District
from xietong.auth import service as auth_service
from xietong.auth.models import User
from xietong.bootstrap import prepare_database
from xietong.cases.models import Case, CloseContact, LinkProposal, QuarantineOrder, TransmissionLink
from xietong.config import Settings
from xietong.core.wallclock import SystemClock
from xietong.models import metadata
from xietong.mutual_aid.models import AidPlan
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.inbox.service import list_referrals
from xietong.referrals.models import Referral, ReferralEvent
from xietong.screening.models import LabResult, ResultBatch, Tube
from xietong.storage.engine import build_engine, session_factory
from xietong.storage.unit_of_work import unit_of_work
from xietong.twin.city import build_city
from xietong.twin.models import TwinInfection, TwinRun, TwinStep
from xietong.twin.outbreak import expected_reports
from xietong.twin.replay import DAY_STAGES, START_DAY, daily_counts, replay
from xietong.zones.models import RiskArea

TZ = "Asia/Shanghai"
POPULATION = 2_500
INTENSITY = 60.0
DAYS = 14
SEED = 31
# The stated tolerance: reported infections of 11-14 November, summed, within 40 % of the
# reference curve scaled to the city (Poisson noise alone is about 15 % at these counts).
TOLERANCE = 0.40


@dataclass
class Replayed:
    engine: Engine
    settings: Settings
    run_id: int

    def session(self) -> Session:
        return session_factory(self.engine)()


def _replay(replayed: Replayed) -> int:
    factory = session_factory(replayed.engine)
    protector = PersonalDataProtector.from_settings(replayed.settings)
    with unit_of_work(factory, clock=SystemClock()) as session:
        run_id = build_city(session, protector=protector, population=POPULATION, seed=SEED).run_id
    report = replay(
        lambda: unit_of_work(factory, clock=SystemClock()),
        run_id=run_id,
        days=DAYS,
        protector=protector,
        tz=TZ,
        intensity=INTENSITY,
    )
    return report.steps_run


@pytest.fixture(scope="module", params=BACKENDS)
def replayed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replayed]:
    dropped = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('twin') / 'twin.sqlite'}"
    else:
        assert PG_URL is not None
        url, dropped = _fresh_postgresql_database(PG_URL)
    engine = build_engine(url)
    prepare_database(engine)
    replayed = Replayed(engine, Settings(database_url=url, run_workers=False), run_id=0)
    _replay(replayed)
    with replayed.session() as session:
        replayed.run_id = session.scalars(select(TwinStep.run_id)).first() or 0
    yield replayed
    engine.dispose()
    if dropped is not None:
        assert PG_URL is not None
        _drop_postgresql_database(PG_URL, dropped)


def test_every_step_of_every_day_was_done_once(replayed: Replayed) -> None:
    with replayed.session() as session:
        steps = session.execute(select(TwinStep.day, TwinStep.stage)).all()
    assert len(steps) == 2 + DAYS * len(DAY_STAGES)
    assert {d for d, _ in steps} == {START_DAY + timedelta(days=k) for k in range(DAYS)}


def test_reported_infections_follow_the_reference_curve_within_the_stated_tolerance(
    replayed: Replayed,
) -> None:
    days = [START_DAY + timedelta(days=k) for k in range(DAYS)]
    with replayed.session() as session:
        reported = daily_counts(session, days=days)
    expected = expected_reports(POPULATION, days=days, intensity=INTENSITY)
    window = slice(10, 14)  # 11-14 November: over 1,000 a day rising past 2,297 (×scale)
    assert sum(reported[window]) == pytest.approx(expected[window].sum(), rel=TOLERANCE)
    # Still growing fast: the last four days report at least twice the four before (3.7×).
    assert sum(reported[window]) >= 2 * sum(reported[6:10])


def test_the_records_carry_the_outbreaks_days_not_todays(replayed: Replayed) -> None:
    first = datetime(2022, 10, 31, 16, tzinfo=UTC)  # 1 November 00:00 in Chongqing
    last = first + timedelta(days=DAYS)
    with replayed.session() as session:
        for column in (
            Tube.collected_at,
            LabResult.reported_at,
            Case.detected_at,
            Referral.pushed_at,
        ):
            low, high = session.execute(select(func.min(column), func.max(column))).one()
            assert first <= low and high < last, column


def test_the_replay_went_through_every_service_with_the_laboratories_imperfections(
    replayed: Replayed,
) -> None:
    with replayed.session() as session:
        count = lambda column, *where: session.scalar(select(func.count(column)).where(*where))  # noqa: E731
        batches = session.execute(
            select(func.sum(ResultBatch.unchanged), func.sum(ResultBatch.rejected))
        ).one()
        events = dict(
            session.execute(
                select(ReferralEvent.action, func.count()).group_by(ReferralEvent.action)
            ).all()
        )
        assert count(TwinInfection.person_id) > 100
        assert count(Tube.id, Tube.kind == "retest") > 0
        assert batches[0] > 0, "a laboratory file was sent twice"
        assert batches[1] > 0, "bad rows were refused"
        assert count(Case.id, Case.source == "screening") > count(Case.id, Case.source == "field")
        assert count(Case.id, Case.found_under_control) > 0
        assert count(Case.id, ~Case.found_under_control) > 0
        assert count(CloseContact.id) > count(Case.id)
        assert count(QuarantineOrder.id, QuarantineOrder.status == "released") > 0
        assert count(TransmissionLink.id) > 0
        for action in ("acknowledged", "closed", "escalated", "rerouted"):
            assert events.get(action, 0) > 0, action
        assert count(RiskArea.id, RiskArea.status.in_(["active", "lifting_proposed", "lifted"])) > 0
        assert count(AidPlan.id, AidPlan.status == "approved") > 0


def test_every_referral_opened_is_in_the_receiving_districts_inbox(replayed: Replayed) -> None:
    now = datetime(2022, 11, DAYS, 16, tzinfo=UTC)
    app = create_app(replayed.settings, engine=replayed.engine)
    # The inbox audits what it shows and the tokens expire, both by the clock the app serves with.
    with unit_of_work(session_factory(replayed.engine), clock=SystemClock()) as session:
        referrals = session.execute(select(Referral.id, Referral.to_district_id)).all()
        assert referrals
        receivers = sorted({to for _, to in referrals})
        tokens: dict[int, str] = {}
        for district_id in receivers:
            user = session.scalars(
                select(User).where(
                    User.district_id == district_id, User.role == "district_coordinator"
                )
            ).one()
            principal = auth_service.principal_of(user)
            inbox, total = list_referrals(
                session, principal=principal, now=now, box="inbox", limit=500
            )
            mine = {r for r, to in referrals if to == district_id}
            assert mine <= {r.id for r in inbox} and total >= len(mine)
            tokens[district_id] = auth_service.issue_token(session, user=user, name="test")
    with TestClient(app) as client:
        for district_id, token in tokens.items():
            response = client.get(
                "/api/referrals",
                params={"box": "inbox", "limit": 500},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            seen = {item["id"] for item in response.json()["items"]}
            assert {r for r, to in referrals if to == district_id} <= seen


def test_a_second_run_adds_nothing(replayed: Replayed) -> None:
    def rows() -> dict[str, int]:
        with replayed.session() as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata().sorted_tables
                if table.name != "auth_token"  # the inbox test logs in
            }

    before = rows()
    assert _replay(replayed) == 0
    assert rows() == before


@contextmanager
def _savepoint(session: Session) -> Iterator[Session]:
    nested = session.begin_nested()
    try:
        yield session
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def _snapshot(session: Session, first_person: int) -> dict[str, object]:
    return {
        "infections": session.execute(
            select(TwinInfection.person_id - first_person, TwinInfection.infected_on).order_by(
                TwinInfection.person_id
            )
        ).all(),
        "tubes": session.execute(
            select(Tube.code, Tube.member_count, LabResult.outcome)
            .outerjoin(LabResult, LabResult.tube_id == Tube.id)
            .where(Tube.code.like(f"W{SEED}%"))
            .order_by(Tube.code)
        ).all(),
        "cases": session.execute(
            select(Case.person_id - first_person, Case.report_day, Case.classification).order_by(
                Case.person_id
            )
        ).all(),
        "referrals": session.execute(
            select(Referral.person_id - first_person, Referral.reason, Referral.status).order_by(
                Referral.person_id, Referral.reason
            )
        ).all(),
        "links": session.execute(
            select(Case.person_id - first_person, TransmissionLink.created_at)
            .join(Case, Case.id == TransmissionLink.target_case_id)
            .order_by(Case.person_id)
        ).all(),
        "steps": session.execute(
            select(TwinStep.day, TwinStep.stage, TwinStep.summary).order_by(
                TwinStep.day, TwinStep.stage
            )
        ).all(),
    }


class Stopped(Exception):
    """The process killed in the middle of a step."""


def _replay_tiny(session: Session, protector: PersonalDataProtector, *, stop_at: int | None) -> int:
    """Build a city of 2,000 and replay two days; with `stop_at`, the unit of work of that number
    fails before it commits (a kill) and the replay is run again. Return the run's id."""
    with _savepoint(session):
        built = build_city(session, protector=protector, population=2_000, seed=SEED)
    steps = [0]

    @contextmanager
    def work() -> Iterator[Session]:
        steps[0] += 1
        with _savepoint(session):
            yield session
            if steps[0] == stop_at:
                raise Stopped  # before the step commits: it is lost, nothing else

    def run() -> int:
        return replay(
            work, run_id=built.run_id, days=2, protector=protector, tz=TZ, intensity=INTENSITY
        ).steps_run

    everything = 2 + 2 * len(DAY_STAGES)
    if stop_at is None:
        assert run() == everything
    else:
        with pytest.raises(Stopped):
            run()
        # The first unit of work reads the steps done; the stopped one and those after it remain.
        assert run() == everything - (stop_at - 2)
    return built.run_id


def test_the_same_seed_gives_the_same_city_and_counts_even_when_stopped_and_resumed(
    session: Session, protector: PersonalDataProtector
) -> None:
    snapshots = []
    for stop_at in (None, 5):  # the second time, stopped in the middle of 1 November's results
        run = session.get(TwinRun, _replay_tiny(session, protector, stop_at=stop_at))
        assert run is not None
        assert run.days_replayed == 2 and run.last_day == date(2022, 11, 2)
        snapshots.append(_snapshot(session, run.first_person_id))
        session.rollback()
    assert snapshots[0] == snapshots[1]
    assert snapshots[0]["tubes"] and snapshots[0]["infections"]


# --- the frozen baseline --------------------------------------------------------------------------

BASELINE = Path(__file__).parent / "baselines" / f"replay-{POPULATION}-seed{SEED}-{DAYS}days.json"


def _links(session: Session, codes: dict[int, str]) -> dict[str, list[str]]:
    """The transmission links and the link proposals, each as one line naming the two cases by
    their persons (counted from the city's first), the evidence, the districts and who decided."""
    first = session.scalar(select(TwinRun.first_person_id)) or 0
    source, target = aliased(Case), aliased(Case)
    found: dict[str, list[str]] = {}
    for name, table, decided in (
        ("links", TransmissionLink, (TransmissionLink.created_by,)),
        (
            "link_proposals",
            LinkProposal,
            (LinkProposal.status, LinkProposal.proposed_by, LinkProposal.decided_by),
        ),
    ):
        rows = session.execute(
            select(
                source.person_id - first,
                target.person_id - first,
                table.evidence_kind,
                table.from_district_id,
                table.to_district_id,
                *decided,
            )
            .join(source, source.id == table.source_case_id)
            .join(target, target.id == table.target_case_id)
        )
        found[name] = sorted(
            " ".join([f"{s}>{t}", kind, f"{codes.get(a)}>{codes.get(b)}", *map(str, rest)])
            for s, t, kind, a, b, *rest in rows
        )
    return found


def replay_summary(session: Session) -> dict[str, object]:
    """What the seeded replay produced, by the users' figures: new cases per reporting day and
    district, referrals by state, high-risk areas locked and lifted per day, and the chains (the
    links and the proposals of links, as the one-link-at-a-time tracing made them)."""
    codes = dict(session.execute(select(District.id, District.code)).all())
    cases: dict[str, dict[str, int]] = {}
    for day, district_id, count in session.execute(
        select(Case.report_day, Case.report_district_id, func.count())
        .group_by(Case.report_day, Case.report_district_id)
        .order_by(Case.report_day, Case.report_district_id)
    ):
        cases.setdefault(day.isoformat(), {})[codes[district_id]] = count
    referrals = dict(
        session.execute(
            select(Referral.status, func.count())
            .group_by(Referral.status)
            .order_by(Referral.status)
        ).all()
    )
    locked = dict(
        session.execute(
            select(RiskArea.active_from, func.count())
            .where(RiskArea.active_from.is_not(None))
            .group_by(RiskArea.active_from)
            .order_by(RiskArea.active_from)
        ).all()
    )
    lifted = dict(
        session.execute(
            select(RiskArea.lifted_on, func.count())
            .where(RiskArea.lifted_on.is_not(None))
            .group_by(RiskArea.lifted_on)
            .order_by(RiskArea.lifted_on)
        ).all()
    )
    return {
        "new_cases_by_day_and_district": cases,
        "referrals_by_state": referrals,
        "areas_locked_by_day": {d.isoformat(): n for d, n in locked.items()},
        "areas_lifted_by_day": {d.isoformat(): n for d, n in lifted.items()},
        **_links(session, codes),
    }


def test_the_seeded_replay_matches_its_frozen_baseline(replayed: Replayed) -> None:
    """The same seed gives the same outbreak through the same services, on either backend: any
    change to what the replay produces shows here, and is accepted by regenerating the file with
    `python -m tests.functional.twin.test_replay` (then read in review)."""
    with replayed.session() as session:
        summary = replay_summary(session)
    assert summary == json.loads(BASELINE.read_text(encoding="utf-8"))


def _write_baseline() -> None:
    """Replay into a fresh SQLite file and write the baseline the test compares with."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'twin.sqlite'}"
        engine = build_engine(url)
        prepare_database(engine)
        _replay(Replayed(engine, Settings(database_url=url, run_workers=False), run_id=0))
        with session_factory(engine)() as session:
            summary = replay_summary(session)
        engine.dispose()
    BASELINE.parent.mkdir(exist_ok=True)
    text = json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True)
    BASELINE.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    _write_baseline()
