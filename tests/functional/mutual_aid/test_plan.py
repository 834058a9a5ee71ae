"""The mutual-aid plan from stored capacity: transfers (from, to, resource, amount, day) and the
shortages left, hand-solved on small cases, and never a district planned above its capacity."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.resources import (
    DAY,
    JIULONGPO,
    NANAN,
    SHAPINGBA,
    YUZHONG,
    facility,
    laboratory,
    plan_request,
    propose,
    window,
)
from xietong.areas import service as areas_service
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.plans.placement import StayPlan
from xietong.resources.service import capacity_by_district
from xietong.resources.vocabulary import BED_RESOURCES

CQ, MH, TUBE = "centralised_quarantine_bed", "makeshift_hospital_bed", "lab_tube"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def moves(plan: flows.PlanRead) -> list[tuple[str, str, str, int, int]]:
    return [
        (t.resource, t.from_district_code, t.to_district_code, t.amount, (t.day - DAY).days)
        for t in plan.transfers
    ]


def test_overflow_goes_to_the_neighbour_with_room_and_nothing_is_short(session: Session) -> None:
    facility(session, district_code=SHAPINGBA, beds=10)
    facility(session, district_code=JIULONGPO, beds=100)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [60]}))
    assert moves(plan) == [(CQ, SHAPINGBA, JIULONGPO, 50, 0)]
    assert plan.shortages == []
    assert (plan.total_arrivals, plan.total_transferred, plan.total_unmet) == (60, 50, 0)
    assert plan.unmet_if_kept_at_home == 50
    assert plan.status == "proposed" and plan.id is not None


def test_the_nearer_district_with_room_takes_the_overflow_first(session: Session) -> None:
    # From 沙坪坝, 渝中 is 18.6 km away and 南岸 29.9 km: 渝中 fills first.
    facility(session, district_code=SHAPINGBA, beds=0)
    facility(session, district_code=YUZHONG, beds=30)
    facility(session, district_code=NANAN, beds=100)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [50]}))
    assert moves(plan) == [(CQ, SHAPINGBA, YUZHONG, 30, 0), (CQ, SHAPINGBA, NANAN, 20, 0)]
    assert plan.transfers[0].distance_km == 18.6


def test_no_transfer_beyond_the_longest_distance_allowed_so_a_shortage_remains(
    session: Session,
) -> None:
    facility(session, district_code=SHAPINGBA, beds=0)
    facility(session, district_code=NANAN, beds=100)  # 29.9 km away
    plan = propose(session, plan_request(contacts={SHAPINGBA: [40]}, max_travel_km=25))
    assert plan.transfers == []
    assert [(s.resource, s.district_code, s.amount) for s in plan.shortages] == [
        (CQ, SHAPINGBA, 40)
    ]


def test_a_district_with_room_keeps_its_own_and_nobody_travels(session: Session) -> None:
    facility(session, district_code=SHAPINGBA, beds=50)
    facility(session, district_code=JIULONGPO, beds=50)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [30], JIULONGPO: [20]}))
    assert plan.transfers == [] and plan.shortages == []


def test_a_bed_placed_today_is_taken_for_the_policy_quarantine(session: Session) -> None:
    # Five days of centralised quarantine (policy): 九龙坡's 20 beds taken on day 1 are free
    # again on day 6, so 沙坪坝's contacts of day 2 to day 5 find no bed there.
    facility(session, district_code=JIULONGPO, beds=20)
    plan = propose(session, plan_request(days=6, contacts={SHAPINGBA: [20, 5, 0, 0, 0, 20]}))
    assert moves(plan) == [(CQ, SHAPINGBA, JIULONGPO, 20, 0), (CQ, SHAPINGBA, JIULONGPO, 20, 5)]
    assert [(s.amount, (s.day - DAY).days) for s in plan.shortages] == [(5, 1)]


def test_beds_already_held_by_quarantine_orders_are_not_planned_again(session: Session) -> None:
    facility(session, district_code=JIULONGPO, beds=100)
    plan = propose(
        session,
        plan_request(contacts={SHAPINGBA: [50]}, in_use={CQ: {JIULONGPO: [80]}}),
    )
    assert moves(plan) == [(CQ, SHAPINGBA, JIULONGPO, 20, 0)]
    assert plan.shortages[0].amount == 30


def test_a_site_closed_for_a_day_sends_its_arrivals_of_that_day_away(session: Session) -> None:
    own = facility(session, district_code=SHAPINGBA, beds=100)
    facility(session, district_code=JIULONGPO, beds=100)
    window(session, own, capacity=0, first_day=DAY, last_day=DAY)
    plan = propose(session, plan_request(days=1, contacts={SHAPINGBA: [10]}))
    assert moves(plan) == [(CQ, SHAPINGBA, JIULONGPO, 10, 0)]


def test_cases_go_to_makeshift_hospitals_and_samples_to_laboratories(session: Session) -> None:
    facility(session, district_code=JIULONGPO, beds=500, kind="makeshift_hospital")
    laboratory(session, district_code=SHAPINGBA, tubes_per_day=30_000)
    laboratory(session, district_code=NANAN, tubes_per_day=50_000)
    plan = propose(
        session,
        plan_request(
            days=2,
            cases={SHAPINGBA: [40, 40]},
            contacts={},
            tubes={SHAPINGBA: [45_000, 20_000]},
        ),
    )
    assert moves(plan) == [
        (MH, SHAPINGBA, JIULONGPO, 40, 0),
        (TUBE, SHAPINGBA, NANAN, 15_000, 0),
        (MH, SHAPINGBA, JIULONGPO, 40, 1),
    ]
    assert plan.shortages == []


def test_the_plan_is_stored_with_its_flow_table(session: Session) -> None:
    facility(session, district_code=SHAPINGBA, beds=10)
    facility(session, district_code=JIULONGPO, beds=100)
    plan = propose(session, plan_request(days=2, contacts={SHAPINGBA: [60, 0]}))
    assert plan.id is not None
    table = flows.flow_table(session, principal=command_user(session)[0], plan_id=plan.id)
    rows = {(r.district_code, (r.day - DAY).days): r for r in table.rows if r.resource == CQ}
    home, away = rows[(SHAPINGBA, 0)], rows[(JIULONGPO, 0)]
    assert (home.arrivals, home.kept, home.sent, home.shortage, home.occupied) == (
        60,
        10,
        50,
        0,
        10,
    )
    assert (away.capacity, away.received, away.occupied) == (100, 50, 50)
    assert rows[(JIULONGPO, 1)].occupied == 50  # still there on day 2
    assert len(table.transfers) == 1


def test_capacity_is_never_exceeded_by_a_plan_built_from_stored_data(session: Session) -> None:
    rng = np.random.default_rng(20221114)
    codes = [SHAPINGBA, JIULONGPO, NANAN, YUZHONG, "500105", "500104", "500112"]
    for code in codes:
        for kind in ("centralised_quarantine", "makeshift_hospital"):
            for _ in range(int(rng.integers(0, 3))):
                site = facility(
                    session, district_code=code, kind=kind, beds=int(rng.integers(0, 60))
                )
                if rng.random() < 0.5:
                    start = DAY + timedelta(days=int(rng.integers(0, 6)))
                    window(
                        session,
                        site,
                        capacity=int(rng.integers(0, 80)),
                        first_day=start,
                        last_day=start + timedelta(days=int(rng.integers(0, 4))),
                    )
        laboratory(session, district_code=code, tubes_per_day=int(rng.integers(0, 5000)))
    days = 6
    series = lambda high: {c: rng.integers(0, high, days).tolist() for c in codes}  # noqa: E731
    request = plan_request(
        days=days,
        contacts=series(40),
        cases=series(8),
        tubes=series(6000),
        in_use={CQ: {c: rng.integers(0, 20, 4).tolist() for c in codes}},
        max_travel_km=40,
    )
    plan = propose(session, request)
    assert plan.id is not None

    # The oracle: capacities recomputed from the stored rows, occupancy rebuilt from the
    # plan's placements (kept and received) held for each resource's stay.
    table = flows.flow_table(session, principal=command_user(session)[0], plan_id=plan.id)
    stays = {CQ: 5, MH: request.case_stay_days, TUBE: 1}
    all_days = [DAY + timedelta(days=k) for k in range(days + max(stays.values()) - 1)]
    ids = areas_service.district_id_by_code(session)
    capacity = capacity_by_district(session, days=all_days, district_ids=[ids[c] for c in codes])
    placed = {(r, c): np.zeros(len(all_days)) for r in stays for c in codes}
    for row in table.rows:
        t = (row.day - DAY).days
        placed[(row.resource, row.district_code)][t : t + stays[row.resource]] += (
            row.kept + row.received
        )
    in_use = {
        c: np.pad(request.in_use[CQ][c], (0, len(all_days) - 4), mode="edge")  # type: ignore[index]
        for c in codes
    }
    for (resource, code), occupancy in placed.items():
        held = in_use[code] if resource == CQ else np.zeros(len(all_days))
        room = np.maximum(capacity[resource][codes.index(code)], held)
        assert np.all(held + occupancy <= room), (resource, code, held + occupancy, room)
    assert sum(r.kept + r.sent + r.shortage for r in table.rows) == plan.total_arrivals
    assert plan.total_unmet <= (plan.unmet_if_kept_at_home or 0)
    assert plan.total_transferred > 0  # the instance does exercise mutual aid


def test_the_command_centre_asks_for_a_plan_through_the_api(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=10)
    facility(session, district_code=JIULONGPO, beds=100)
    _, token = command_user(session)
    response = app_client.post(
        "/api/resources/plan",
        headers=auth(token),
        json={
            "first_day": DAY.isoformat(),
            "days": 1,
            "new_contacts": {SHAPINGBA: [60]},
            "forecast_new_cases": {},
            "planned_tubes": {},
            "in_use": {},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "proposed"
    assert body["transfers"] == [
        {
            "resource": CQ,
            "from_district_code": SHAPINGBA,
            "to_district_code": JIULONGPO,
            "day": DAY.isoformat(),
            "amount": 50,
            "distance_km": 21.8,
        }
    ]
    assert body["shortages"] == []
    flows_table = app_client.get(
        f"/api/resources/plans/{body['id']}/flows", headers=auth(token)
    ).json()
    assert {r["district_code"] for r in flows_table["rows"]} == {SHAPINGBA, JIULONGPO}


def test_a_district_may_preview_a_plan_but_not_propose_one(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=10)
    _, token = district_user(session, SHAPINGBA)
    body = {
        "first_day": DAY.isoformat(),
        "new_contacts": {SHAPINGBA: [20] * 7},
        "forecast_new_cases": {},
        "planned_tubes": {},
        "in_use": {},
    }
    refused = app_client.post("/api/resources/plan", headers=auth(token), json=body)
    assert refused.status_code == 403
    preview = app_client.post(
        "/api/resources/plan", headers=auth(token), json={**body, "store": False}
    )
    assert preview.status_code == 200
    assert preview.json()["id"] is None


def test_a_district_reads_only_its_own_rows_of_a_plan(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=0)
    facility(session, district_code=JIULONGPO, beds=100)
    facility(session, district_code=YUZHONG, beds=0)
    facility(session, district_code=NANAN, beds=100)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [10], YUZHONG: [10]}))
    _, token = district_user(session, JIULONGPO)
    table = app_client.get(f"/api/resources/plans/{plan.id}/flows", headers=auth(token)).json()
    assert {r["district_code"] for r in table["rows"]} == {JIULONGPO}
    assert all(
        JIULONGPO in (t["from_district_code"], t["to_district_code"]) for t in table["transfers"]
    )
    assert len(table["transfers"]) == 1  # 渝中's contacts go to 南岸, not here


def test_capacity_against_demand_is_served_per_district_and_day(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=100)
    _, token = command_user(session)
    response = app_client.post(
        "/api/resources/demand",
        headers=auth(token),
        json={
            "first_day": DAY.isoformat(),
            "days": 3,
            "forecast_new_cases": {SHAPINGBA: [3, 3, 3]},
            "contacts_per_case": 20,
            "planned_tubes": {SHAPINGBA: [1000, 0, 1000]},
            "in_use": {CQ: {SHAPINGBA: [30]}},
        },
    )
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["demand_source"] == "forecast_given" and read["tubes_source"] == "given"
    cells = {(c["resource"], c["day"]): c for c in read["cells"] if c["district_code"] == SHAPINGBA}
    day3 = (DAY + timedelta(days=2)).isoformat()
    assert cells[(CQ, day3)] == {
        "district_code": SHAPINGBA,
        "resource": CQ,
        "day": day3,
        "capacity": 100,
        "in_use": 30,
        "arrivals": 60,
        "needed": 30 + 180,
        "gap": 110,
    }
    assert cells[(TUBE, DAY.isoformat())]["needed"] == 1000
    assert set(BED_RESOURCES) >= {c["resource"] for c in read["cells"]} - {TUBE}


def test_the_outlook_reads_stored_data_when_nothing_is_stated(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=100)
    _, token = district_user(session, SHAPINGBA)
    response = app_client.get(
        "/api/resources/outlook",
        headers=auth(token),
        params={"first_day": DAY.isoformat(), "days": 2},
    )
    assert response.status_code == 200, response.text
    read = response.json()
    # No case counted yet: nothing to forecast, as the forecast page says, so no new case.
    assert (read["demand_source"], read["demand_quantile"]) == ("none", None)
    assert any(c["district_code"] == SHAPINGBA and c["capacity"] == 100 for c in read["cells"])


def test_the_plan_keeps_the_placement_arithmetic_of_the_pure_planner() -> None:
    # The stored flow table is a rendering of StayPlan; this guards the type it is read from.
    assert {"kept_at_home", "received", "placed_occupancy"} <= set(StayPlan.__dataclass_fields__)


def test_stated_inputs_of_the_wrong_length_or_district_are_refused_by_name(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    response = app_client.post(
        "/api/resources/plan",
        headers=auth(token),
        json={
            "first_day": DAY.isoformat(),
            "days": 3,
            "forecast_new_cases": {SHAPINGBA: [1, 2], "999999": [1, 1, 1]},
            "store": False,
        },
    )
    assert response.status_code == 422
    problems = {(d["record"], d["field"]) for d in response.json()["error"]["details"]}
    assert problems == {
        ("forecast_new_cases.500106", "days"),
        ("forecast_new_cases.999999", "district_code"),
    }


def test_samples_may_travel_further_than_persons(session: Session) -> None:
    facility(session, district_code=NANAN, beds=100)  # 29.9 km from 沙坪坝
    laboratory(session, district_code=NANAN, tubes_per_day=10_000)
    plan = propose(
        session,
        plan_request(
            contacts={SHAPINGBA: [10]},
            tubes={SHAPINGBA: [4_000]},
            max_travel_km=25,
            max_travel_km_by_resource={TUBE: 200},
        ),
    )
    assert moves(plan) == [(TUBE, SHAPINGBA, NANAN, 4_000, 0)]
    assert [(s.resource, s.amount) for s in plan.shortages] == [(CQ, 10)]
    assert plan.parameters["max_travel_km"] == {CQ: 25.0, MH: 25.0, TUBE: 200.0}
