"""The plan of a day in the database (the every-other-day split, high-risk buildings from zones
daily by single tube) and the coverage of a round against it; the contract functions zones,
resources and analytics call."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.auth import command_user, district_user
from tests.factories.people import building_in
from xietong.areas import service as areas_service
from xietong.core.principal import SYSTEM
from xietong.flows import screening
from xietong.people.protection import PersonalDataProtector
from xietong.screening import metrics, service
from xietong.screening.models import PlannedBuilding
from xietong.screening.plans.rules import due_on
from xietong.zones import service as zones_service

DAY = date(2022, 11, 15)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def planned(session: Session, day: date) -> dict[int, PlannedBuilding]:
    return {
        b.building_id: b
        for b in session.scalars(select(PlannedBuilding).where(PlannedBuilding.day == day))
    }


def test_every_central_building_is_planned_exactly_once_over_two_days(session: Session) -> None:
    for day in (DAY, DAY + timedelta(days=1)):
        screening.issue_plan(session, principal=SYSTEM, day=day, now=f.NOW)
    first, second = planned(session, DAY), planned(session, DAY + timedelta(days=1))
    central = {d.id for d in areas_service.list_districts(session) if d.central_urban}
    buildings = {
        ref.id
        for ref in areas_service.building_index(session).values()
        if ref.district_id in central
    }
    assert set(first) | set(second) >= buildings
    assert not (set(first) & set(second)) & buildings
    assert {b.status for b in first.values()} <= {"central_urban_area", "high_risk_area"}
    # Outside the central urban area the default policy has no routine rounds.
    assert all(b.district_id in central for b in first.values() if b.status != "high_risk_area")


def test_a_high_risk_building_from_zones_tests_daily_by_single_tube(session: Session) -> None:
    building = building_in(session, "500106", 0)
    zones_service.open_area(
        session,
        principal=SYSTEM,
        building_code=building.code,
        reason="阳性病例住所",
        now=datetime(2022, 11, 14, 2, 0, tzinfo=f.NOW.tzinfo),
        designate=True,
    )
    for k in range(3):
        day = DAY + timedelta(days=k)
        read = screening.issue_plan(session, principal=SYSTEM, day=day, now=f.NOW)
        entry = planned(session, day)[building.id]
        assert (entry.status, entry.pool_size, entry.every_days) == ("high_risk_area", 1, 1)
        assert read.high_risk_buildings == 1


def test_the_plan_is_a_preview_until_issued_and_a_district_sees_its_own(
    app_client: TestClient, session: Session
) -> None:
    _, chief = command_user(session)
    _, district = district_user(session, "500106")
    preview = app_client.get(
        "/api/screening/plan", params={"date": "2022-11-20"}, headers=auth(district)
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["issued"] is False
    assert {d["district_code"] for d in preview.json()["districts"]} == {"500106"}
    assert (
        app_client.post(
            "/api/screening/plan", params={"date": "2022-11-20"}, headers=auth(district)
        ).status_code
        == 403
    )
    issued = app_client.post(
        "/api/screening/plan", params={"date": "2022-11-20"}, headers=auth(chief)
    )
    assert issued.status_code == 200, issued.text
    shown = app_client.get(
        "/api/screening/plan",
        params={"date": "2022-11-20", "district": "500106"},
        headers=auth(chief),
    ).json()
    assert shown["issued"] is True and shown["buildings_total"] == len(shown["buildings"])
    assert all(
        b["reason"] == "central urban area: every 2 days, pools of 10" for b in shown["buildings"]
    )
    assert service.planned_tubes(session, day=date(2022, 11, 20)) != {}


def test_coverage_counts_planned_sampled_resulted_missed_and_positivity(
    session: Session, protector: PersonalDataProtector
) -> None:
    district = "500107"
    ids = areas_service.district_id_by_code(session)
    building = next(
        b for i in range(6) if due_on((b := building_in(session, district, i)).code, DAY, 2)
    )
    index = next(i for i in range(6) if building_in(session, district, i).id == building.id)
    persons = f.import_persons(session, protector, 25, district_code=district, building_index=index)
    screening.issue_plan(session, principal=SYSTEM, day=DAY, now=f.NOW)
    site = f.make_site(session, district_code=district)
    tubes = [f.tube(site, persons[0:10]), f.tube(site, persons[10:20])]
    f.register(session, *tubes)
    f.report(session, f.result(tubes[0].tube_code, "positive"))
    read = service.coverage(session, principal=SYSTEM, day=DAY)
    row = next(r for r in read.rows if r.area_code == district)
    assert (row.sampled, row.resulted, row.tubes, row.tubes_resulted, row.tubes_positive) == (
        20,
        10,
        2,
        1,
        1,
    )
    assert row.positivity == 1.0
    assert row.missed == row.planned - 20 and row.planned >= 25
    by_building = service.coverage(session, principal=SYSTEM, day=DAY, district_code=district)
    mine = next(r for r in by_building.rows if r.area_code == building.code)
    assert (mine.planned, mine.sampled, mine.resulted, mine.missed) == (25, 20, 10, 5)
    cells = metrics.changed_cells(session, since=f.NOW - timedelta(minutes=1))
    assert (ids[district], DAY) in cells
    counted = metrics.daily_metrics(session, cells=[(ids[district], DAY)], tz=f.TZ)[
        ids[district], DAY
    ]
    assert counted == {
        "swabs_sampled": 20,
        "tubes_sampled": 2,
        "tubes_resulted": 1,
        "tubes_positive": 1,
        "pooled_positives": 1,
    }


def test_a_district_user_sees_only_its_districts_coverage(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")
    screening.issue_plan(session, principal=SYSTEM, day=DAY, now=f.NOW)
    rows = app_client.get(
        "/api/screening/coverage", params={"date": DAY.isoformat()}, headers=auth(token)
    ).json()["rows"]
    assert {r["area_code"] for r in rows} <= {"500106"}
    other = app_client.get(
        "/api/screening/coverage",
        params={"date": DAY.isoformat(), "district": "500108"},
        headers=auth(token),
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    "outcome, counted", [("negative", True), ("positive", False), (None, False)]
)
def test_negative_screening_days_count_a_building_only_when_every_tube_is_negative(
    session: Session, protector: PersonalDataProtector, outcome: str | None, counted: bool
) -> None:
    building = building_in(session, "500108", 2)
    persons = f.import_persons(session, protector, 3, district_code="500108", building_index=2)
    site = f.make_site(session, district_code="500108")
    good, other = f.tube(site, persons[:2]), f.tube(site, persons[2:])
    f.register(session, good, other)
    f.report(session, f.result(good.tube_code, "negative"))
    if outcome is not None:
        f.report(session, f.result(other.tube_code, outcome))
    days = service.negative_screening_days(
        session, building_ids=[building.id], first_day=DAY - timedelta(days=2), last_day=DAY
    )
    assert days == {building.id: {DAY} if counted else set()}
    # Negative throughout a window: only a window of that one screened day.
    for first_day, expected in ((DAY, counted), (DAY - timedelta(days=1), False)):
        throughout = service.buildings_negative_throughout(
            session, building_ids=[building.id], first_day=first_day, last_day=DAY
        )
        assert throughout == ({building.id} if expected else set())


def test_a_districts_preview_is_the_city_previews_entries_of_that_district(
    session: Session, protector: PersonalDataProtector
) -> None:
    ids = areas_service.district_id_by_code(session)
    # Persons staying in buildings of two central districts, one of them screened (a pool and a
    # positive single tube in the prevalence window), and a high-risk building in a third.
    for code, index in (("500107", 0), ("500107", 1), ("500106", 2)):
        f.import_persons(session, protector, 12, district_code=code, building_index=index)
    screened = f.import_persons(session, protector, 11, district_code="500106", building_index=0)
    site = f.make_site(session, district_code="500106")
    single = f.tube(site, screened[10:], pool_size=1)
    f.register(session, f.tube(site, screened[:10]), single)
    f.report(session, f.result(single.tube_code, "positive"))
    locked = {building_in(session, "500108", 0).id}
    for day in (DAY, DAY + timedelta(days=1)):
        city = service.compute_plan(session, day=day, high_risk_building_ids=locked)
        assert {e.district_id for e in city} >= {ids["500106"], ids["500107"], ids["500108"]}
        assert sum(e.persons for e in city) > 0
        for district_id in sorted(ids.values()):
            assert service.compute_plan(
                session, day=day, high_risk_building_ids=locked, district_id=district_id
            ) == [e for e in city if e.district_id == district_id]
            city_prevalence = service.district_prevalence(session, day=day)
            assert service.district_prevalence(session, day=day, district_id=district_id) == {
                d: p for d, p in city_prevalence.items() if d == district_id
            }


def test_a_districts_prevalence_is_its_positive_single_tubes_over_its_swabs(
    session: Session, protector: PersonalDataProtector
) -> None:
    from collections import defaultdict

    from xietong.screening.models import LabResult, Tube

    # Three rounds in one district and one in another: pools (positive or not, never a person)
    # and single tubes (positive or negative), all but the last round's results in.
    for code, rounds in (("500106", 3), ("500107", 1)):
        site = f.make_site(session, district_code=code)
        persons = [p.id for p in f.make_persons(session, protector, 14, district_code=code)]
        for back in range(rounds):
            at = f.SAMPLED_AT - timedelta(days=2 * back)
            pool = f.tube(site, persons[:5], collected_at=at)
            singles = [f.tube(site, [p], pool_size=1, collected_at=at) for p in persons[10:13]]
            positive_pool = f.tube(site, persons[5:10], collected_at=at)
            f.register(session, pool, positive_pool, *singles)
            outcomes = [(pool, "negative"), (positive_pool, "positive")]
            outcomes += zip(singles, ("positive", "negative", "positive"), strict=True)
            f.report(session, *(f.result(t.tube_code, o) for t, o in outcomes[: 4 + back % 2]))
    session.flush()
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=3), DAY + timedelta(days=5)):
        # The oracle: every tube of the window and its result, read one by one.
        results = dict(session.execute(select(LabResult.tube_id, LabResult.outcome)).all())
        swabs: dict[int, int] = defaultdict(int)
        rounds: dict[int, set[date]] = defaultdict(set)
        positives: dict[int, int] = defaultdict(int)
        for tube in session.scalars(select(Tube)):
            if day - timedelta(days=7) <= tube.round_day < day:
                swabs[tube.district_id] += tube.member_count
                rounds[tube.district_id].add(tube.round_day)
                single_positive = tube.member_count == 1 and results.get(tube.id) == "positive"
                positives[tube.district_id] += single_positive
        # At least the central urban area's rounds in the window (three of every other day).
        expected = {d: positives[d] / swabs[d] if len(rounds[d]) >= 3 else None for d in swabs}
        assert service.district_prevalence(session, day=day) == expected
        assert any(expected.values()) == (DAY < day < DAY + timedelta(days=5))
        for district in expected:
            assert service.district_prevalence(session, day=day, district_id=district) == {
                district: expected[district]
            }
