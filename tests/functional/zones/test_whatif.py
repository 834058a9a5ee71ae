"""What-if on a constructed history with a known answer: four buildings of one district over
10–30 November 2022, replayed under a three-day policy, side by side with what happened.

What happened (the default, five-day policy, with a district that approves a day late):
  A  surface case 12 Nov, locked 12 Nov, lifting proposed 17 Nov, lifted 18 Nov   4 residents
  B  designated by hand 20 Nov, still locked on 30 Nov (rounds only 20–22 Nov)    2 residents
  C  surface case 25 Nov, proposal rejected: never locked                         1 resident
  D  designated 5 Nov (before the period), lifted by hand 11 Nov                  5 residents
Under three clean days, every proposal approved the same day:
  A  locked 12 Nov, clean 13–15 Nov → lifted 15 Nov: 3 days
  B  locked 20 Nov, clean 20–22 Nov → lifted 22 Nov: 2 days
  C  locked 25 Nov, no negative round → still locked on 30 Nov: 6 days
  D  carried in with 3 clean days (7–9 Nov) → lifted on 10 Nov: 0 days
"""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.zones import (
    NOV,
    TZ,
    ScreeningDays,
    at,
    building,
    days,
    infection,
    policy_toml,
    resident,
)
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.policy.loader import default_policy, load_policy_text, override_policy
from xietong.zones import service, tasks, whatif
from xietong.zones.schemas import LockEpisode, WhatIfReport

DISTRICT = "500115"
THREE_DAYS = override_policy(
    default_policy(),
    {
        "version": "three-days",
        "effective_from": date(2022, 12, 1),
        "risk_area.lift_after_clean_days": 3,
    },
)


def constructed_history(session: Session, protector: PersonalDataProtector) -> ScreeningDays:
    a, b, c, d = (building(session, DISTRICT, i) for i in range(4))
    for home, count in ((a, 3), (b, 2), (d, 5)):
        for _ in range(count):
            resident(session, protector, home)
    # A: a surface case, approved the same day, lifted a day after the proposal.
    infection(session, protector, a, NOV[12], hour=8)
    proposed = service.open_area_of(session, building_id=a.id)
    assert proposed is not None
    service.approve_area(session, principal=SYSTEM, area_id=proposed.id, now=at(NOV[12], 13), tz=TZ)
    tasks.propose_liftings(
        session,
        due=[tasks.LiftingDue(proposed.id, proposed.district_id, proposed.building_id)],
        day=NOV[17],
        reason="5 clean days",
        now=at(NOV[17], 22),
    )
    service.lift_area(session, principal=SYSTEM, area_id=proposed.id, now=at(NOV[18], 9), tz=TZ)
    # B: designated by hand, never lifted.
    service.open_area(
        session,
        principal=SYSTEM,
        building_code=b.code,
        reason="cluster",
        now=at(NOV[20]),
        tz=TZ,
        designate=True,
    )
    # C: a surface case whose proposal the district rejected.
    infection(session, protector, c, NOV[25])
    rejected = service.open_area_of(session, building_id=c.id)
    assert rejected is not None
    service.reject_area(
        session, principal=SYSTEM, area_id=rejected.id, reason="visitor", now=at(NOV[25], 15), tz=TZ
    )
    # D: designated before the period, lifted by hand inside it.
    early = service.open_area(
        session,
        principal=SYSTEM,
        building_code=d.code,
        reason="cluster",
        now=at(NOV[5]),
        tz=TZ,
        designate=True,
    )
    service.lift_area(
        session, principal=SYSTEM, area_id=early.id, reason="all negative", now=at(NOV[11]), tz=TZ
    )
    return (
        ScreeningDays()
        .add(a, days(NOV[13], NOV[30]))
        .add(b, [NOV[20], NOV[21], NOV[22]])
        .add(d, days(NOV[5], NOV[11]))
    )


def run(session: Session, screening: ScreeningDays) -> WhatIfReport:
    district_id = building(session, DISTRICT, 0).district_id
    return whatif.what_if(
        session,
        policy=THREE_DAYS,
        first_day=NOV[10],
        last_day=NOV[30],
        district_id=district_id,
        screening=screening,
    )


def ep(locked: date, lifted: date | None, locked_days: int) -> LockEpisode:
    return LockEpisode(locked_on=locked, lifted_on=lifted, locked_days=locked_days)


def test_the_what_if_gives_the_known_answer_side_by_side_with_what_happened(
    session: Session, protector: PersonalDataProtector
) -> None:
    report = run(session, constructed_history(session, protector))
    assert (report.policy_version, report.actual_policy_versions) == ("three-days", ["2022-11-11"])
    by_building = {b.building_code: b for b in report.buildings}
    a, b, c, d = (building(session, DISTRICT, i).code for i in range(4))
    assert {k: v.residents for k, v in by_building.items()} == {a: 4, b: 2, c: 1, d: 5}
    assert by_building[a].actual == [ep(NOV[12], NOV[18], 6)]
    assert by_building[a].what_if == [ep(NOV[12], NOV[15], 3)]
    assert by_building[b].actual == [ep(NOV[20], None, 11)]
    assert by_building[b].what_if == [ep(NOV[20], NOV[22], 2)]
    assert by_building[c].actual == []
    assert by_building[c].what_if == [ep(NOV[25], None, 6)]
    assert by_building[d].actual == [ep(NOV[5], NOV[11], 1)]
    assert by_building[d].what_if == [ep(NOV[5], NOV[10], 0)]
    # Person-days: 4×6 + 2×11 + 5×1 = 51 happened; 4×3 + 2×2 + 1×6 + 5×0 = 22 under the what-if.
    assert report.actual.model_dump() == {
        "areas_locked": 2,
        "areas_lifted": 2,
        "building_days": 18,
        "person_days": 51,
    }
    assert report.what_if.model_dump() == {
        "areas_locked": 3,
        "areas_lifted": 3,
        "building_days": 11,
        "person_days": 22,
    }


def test_a_policy_that_never_proposes_on_surface_cases_locks_only_by_hand(
    session: Session, protector: PersonalDataProtector
) -> None:
    screening = constructed_history(session, protector)
    quiet = override_policy(THREE_DAYS, {"risk_area.propose_on_surface_case": False})
    district_id = building(session, DISTRICT, 0).district_id
    report = whatif.what_if(
        session,
        policy=quiet,
        first_day=NOV[10],
        last_day=NOV[30],
        district_id=district_id,
        screening=screening,
    )
    assert report.what_if.areas_locked == 1  # B, designated by hand
    assert report.what_if.person_days == 4


def test_a_period_ending_before_it_begins_is_refused(session: Session) -> None:
    with pytest.raises(Exception, match="ends before it begins"):
        whatif.what_if(session, policy=THREE_DAYS, first_day=NOV[20], last_day=NOV[10])


def test_the_what_if_runs_through_the_api_for_the_command_centre_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    constructed_history(session, protector)
    text = policy_toml(
        version="three-days",
        effective_from=date(2022, 12, 1),
        changes={"risk_area.lift_after_clean_days": 3},
    )
    assert load_policy_text(text, source="test").risk_area.lift_after_clean_days == 3
    body = {
        "policy_text": text,
        "first_day": "2022-11-10",
        "last_day": "2022-11-30",
        "district_code": DISTRICT,
    }
    _, district = district_user(session, DISTRICT)
    denied = app_client.post(
        "/api/zones/whatif", headers={"Authorization": f"Bearer {district}"}, json=body
    )
    assert denied.status_code == 403
    _, token = command_user(session)
    response = app_client.post(
        "/api/zones/whatif", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["actual"]["person_days"] == 51
    assert len(answer["buildings"]) == 4
    bad = app_client.post(
        "/api/zones/whatif",
        headers={"Authorization": f"Bearer {token}"},
        json={
            **body,
            "policy_text": text.replace("lift_after_clean_days = 3", "lift_after_clean_days = 0"),
        },
    )
    assert bad.status_code == 422
    [problem] = bad.json()["error"]["details"]
    assert problem["key"] == "risk_area.lift_after_clean_days" and problem["line"] is not None
