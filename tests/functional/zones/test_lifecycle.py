"""The life of a high-risk area: proposed (by a surface case or a user) → approved or rejected by
the district → active → lifting proposed → lifted; every step with its user, time and policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user, make_user
from tests.factories.zones import NOV, TZ, adopt_changes, area, at, building, infection
from xietong.core.errors import Conflict, DomainError, PermissionDenied
from xietong.core.principal import SYSTEM, Role
from xietong.people.protection import PersonalDataProtector
from xietong.zones import service
from xietong.zones.models import RiskArea


def test_a_surface_infection_proposes_its_building_at_once(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 0)
    infection(session, protector, home, NOV[14])
    found = service.open_area_of(session, building_id=home.id)
    assert found is not None
    assert (found.status, found.origin, found.proposed_by) == ("proposed", "surface_case", "system")
    assert found.policy_version == "2022-11-11"
    assert found.active_from is None
    [event] = service.area_events(session, area_id=found.id)
    assert (event.step, event.username, event.policy_version) == (
        "proposed",
        "system",
        "2022-11-11",
    )
    assert event.day == NOV[14]


def test_an_infection_found_under_control_proposes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 1)
    infection(session, protector, home, NOV[14], on_surface=False)
    assert service.open_area_of(session, building_id=home.id) is None


def test_a_second_surface_infection_does_not_propose_the_building_twice(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 2)
    infection(session, protector, home, NOV[14])
    infection(session, protector, home, NOV[15])
    count = session.scalar(select(func.count(RiskArea.id)).where(RiskArea.building_id == home.id))
    assert count == 1


def test_recording_the_same_infection_twice_changes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 3)
    first = infection(session, protector, home, NOV[14])
    again = service.record_infection(
        session,
        building_id=home.id,
        district_id=home.district_id,
        person_id=first.person_id,
        detected_at=at(NOV[16]),
        on_surface=True,
        tz=TZ,
        now=datetime.now(UTC),
    )
    assert again.id == first.id and again.day == NOV[14]


def test_a_policy_that_does_not_propose_on_surface_cases_is_followed_from_its_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    adopt_changes(
        session,
        version="no-auto",
        effective_from=NOV[20],
        changes={"risk_area.propose_on_surface_case": False},
    )
    before, after = building(session, "500107", 0), building(session, "500107", 1)
    infection(session, protector, before, NOV[19])
    infection(session, protector, after, NOV[20])
    assert service.open_area_of(session, building_id=before.id) is not None
    assert service.open_area_of(session, building_id=after.id) is None


def test_the_district_approves_and_the_area_is_locked_from_the_day_of_approval(
    session: Session,
) -> None:
    home = building(session, "500106", 4)
    coordinator, _ = district_user(session, "500106")
    proposed = service.open_area(
        session,
        principal=coordinator,
        building_code=home.code,
        reason="surface case",
        tz=TZ,
        now=at(NOV[14], 9),
        designate=False,
    )
    approved = service.approve_area(
        session, principal=coordinator, area_id=proposed.id, now=at(NOV[15], 1), tz=TZ
    )
    assert (approved.status, approved.active_from, approved.countdown_from) == (
        "active",
        NOV[15],
        NOV[15],
    )
    assert approved.decided_by == coordinator.username
    steps = [
        (e.step, e.username, e.user_id) for e in service.area_events(session, area_id=proposed.id)
    ]
    assert steps == [
        ("proposed", coordinator.username, coordinator.user_id),
        ("approved", coordinator.username, coordinator.user_id),
    ]
    assert home.id not in service.active_high_risk_building_ids(session, day=NOV[14])
    assert home.id in service.active_high_risk_building_ids(session, day=NOV[15])


def test_a_rejection_needs_a_reason_and_leaves_the_building_unlocked(session: Session) -> None:
    home = building(session, "500106", 5)
    proposed = area(session, home, status="proposed")
    with pytest.raises(DomainError, match="reason"):
        service.reject_area(
            session, principal=SYSTEM, area_id=proposed.id, reason=" ", tz=TZ, now=datetime.now(UTC)
        )
    rejected = service.reject_area(
        session,
        principal=SYSTEM,
        area_id=proposed.id,
        reason="the case had moved out",
        tz=TZ,
        now=datetime.now(UTC),
    )
    assert rejected.status == "rejected"
    assert home.id not in service.active_high_risk_building_ids(session, day=NOV[20])
    with pytest.raises(Conflict, match="cannot be approved"):
        service.approve_area(
            session, principal=SYSTEM, area_id=proposed.id, tz=TZ, now=datetime.now(UTC)
        )


def test_a_district_acts_only_on_its_own_areas(session: Session) -> None:
    home = building(session, "500106", 0)
    proposed = area(session, home, status="proposed")
    outsider, _ = district_user(session, "500108")
    with pytest.raises(PermissionDenied, match="another district"):
        service.approve_area(
            session, principal=outsider, area_id=proposed.id, tz=TZ, now=datetime.now(UTC)
        )
    with pytest.raises(PermissionDenied, match="another district"):
        service.open_area(
            session,
            principal=outsider,
            building_code=building(session, "500106", 1).code,
            reason="seen there",
            tz=TZ,
            now=datetime.now(UTC),
            designate=False,
        )


def test_a_field_worker_may_propose_but_not_decide(session: Session) -> None:
    home = building(session, "500106", 1)
    worker, _ = make_user(session, role=Role.field_worker, district_code="500106")
    proposed = service.open_area(
        session,
        principal=worker,
        building_code=home.code,
        reason="found in a flow survey",
        tz=TZ,
        now=datetime.now(UTC),
        designate=False,
    )
    with pytest.raises(PermissionDenied, match="may not approve"):
        service.approve_area(
            session, principal=worker, area_id=proposed.id, tz=TZ, now=datetime.now(UTC)
        )
    viewer, _ = make_user(session, role=Role.viewer)
    with pytest.raises(PermissionDenied, match="may not propose"):
        service.open_area(
            session,
            principal=viewer,
            building_code=building(session, "500106", 2).code,
            reason="x",
            tz=TZ,
            now=datetime.now(UTC),
            designate=False,
        )


def test_a_building_has_at_most_one_open_area(session: Session) -> None:
    home = building(session, "500106", 2)
    area(session, home, status="active")
    with pytest.raises(Conflict, match="already has an open area"):
        service.open_area(
            session,
            principal=SYSTEM,
            building_code=home.code,
            reason="again",
            tz=TZ,
            now=datetime.now(UTC),
            designate=False,
        )
    with pytest.raises(Conflict, match="already has an open area"):
        service.open_area(
            session,
            principal=SYSTEM,
            building_code=home.code,
            reason="again",
            tz=TZ,
            now=datetime.now(UTC),
            designate=True,
        )


def test_a_lifted_building_can_be_proposed_again(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 3)
    area(session, home, status="lifted", active_from=NOV[10], lifted_on=NOV[15])
    infection(session, protector, home, NOV[20])
    again = service.open_area_of(session, building_id=home.id)
    assert again is not None and again.status == "proposed"


def test_a_district_designates_directly_with_a_reason(session: Session) -> None:
    home = building(session, "500106", 4)
    coordinator, _ = district_user(session, "500106")
    with pytest.raises(DomainError, match="reason"):
        service.open_area(
            session,
            principal=coordinator,
            building_code=home.code,
            reason="",
            tz=TZ,
            now=datetime.now(UTC),
            designate=True,
        )
    designated = service.open_area(
        session,
        principal=coordinator,
        building_code=home.code,
        reason="cluster at the market stalls",
        now=at(NOV[16], 22),
        tz=TZ,
        designate=True,
    )
    assert (designated.status, designated.origin, designated.active_from) == (
        "active",
        "designation",
        NOV[16],
    )
    [event] = service.area_events(session, area_id=designated.id)
    assert (event.step, event.reason) == ("designated", "cluster at the market stalls")


def test_a_direct_lifting_needs_a_reason_an_approved_lifting_does_not(session: Session) -> None:
    early, due = building(session, "500106", 0), building(session, "500106", 1)
    active = area(session, early, status="active", active_from=NOV[14])
    with pytest.raises(DomainError, match="needs a reason"):
        service.lift_area(session, principal=SYSTEM, area_id=active.id, now=at(NOV[16]), tz=TZ)
    lifted = service.lift_area(
        session,
        principal=SYSTEM,
        area_id=active.id,
        reason="index case was misreported",
        now=at(NOV[16]),
        tz=TZ,
    )
    assert (lifted.status, lifted.lifted_on) == ("lifted", NOV[16])
    awaiting = area(session, due, status="lifting_proposed", active_from=NOV[14], lifted_on=NOV[19])
    done = service.lift_area(session, principal=SYSTEM, area_id=awaiting.id, now=at(NOV[20]), tz=TZ)
    assert (done.status, done.lifted_on, done.lifted_by) == ("lifted", NOV[20], "system")
    steps = [e.step for e in service.area_events(session, area_id=awaiting.id)]
    assert steps == ["proposed", "approved", "lifting_proposed", "lifted"]


def test_the_lifting_day_is_the_first_unlocked_day(session: Session) -> None:
    home = building(session, "500106", 2)
    lifted = area(session, home, status="lifted", active_from=NOV[14], lifted_on=NOV[19])
    assert home.id in service.active_high_risk_building_ids(session, day=NOV[18])
    assert home.id not in service.active_high_risk_building_ids(session, day=NOV[19])
    assert lifted.lifted_at == at(NOV[19], 15)
    # The instant test of cases follows the hour of lifting, not the day.
    assert service.is_in_active_high_risk_area(
        session, building_id=home.id, at=at(NOV[19], 14), tz=TZ
    )
    assert not service.is_in_active_high_risk_area(
        session, building_id=home.id, at=at(NOV[19], 16), tz=TZ
    )
    assert not service.is_in_active_high_risk_area(
        session, building_id=home.id, at=at(NOV[13], 12), tz=TZ
    )


def test_rejecting_a_lifting_keeps_the_area_locked_and_restarts_the_count_tomorrow(
    session: Session,
) -> None:
    home = building(session, "500106", 3)
    awaiting = area(
        session, home, status="lifting_proposed", active_from=NOV[14], lifted_on=NOV[19]
    )
    with pytest.raises(DomainError, match="reason"):
        service.reject_lifting(
            session, principal=SYSTEM, area_id=awaiting.id, reason="", tz=TZ, now=datetime.now(UTC)
        )
    kept = service.reject_lifting(
        session,
        principal=SYSTEM,
        area_id=awaiting.id,
        reason="a close contact tested positive",
        now=at(NOV[20]),
        tz=TZ,
    )
    assert (kept.status, kept.countdown_from, kept.lifting_proposed_at) == ("active", NOV[21], None)


def test_a_new_infection_withdraws_a_proposed_lifting(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 4)
    awaiting = area(
        session, home, status="lifting_proposed", active_from=NOV[14], lifted_on=NOV[19]
    )
    infection(session, protector, home, NOV[20])
    session.refresh(awaiting)
    assert awaiting.status == "active"
    last = service.area_events(session, area_id=awaiting.id)[-1]
    assert (last.step, last.username) == ("lifting_withdrawn", "system")
    with pytest.raises(Conflict):
        service.reject_lifting(
            session, principal=SYSTEM, area_id=awaiting.id, reason="x", tz=TZ, now=datetime.now(UTC)
        )


def test_each_step_names_the_policy_in_force_on_its_own_day(session: Session) -> None:
    adopt_changes(
        session,
        version="six-days",
        effective_from=NOV[16],
        changes={"risk_area.lift_after_clean_days": 6},
    )
    home = building(session, "500108", 0)
    proposed = service.open_area(
        session,
        principal=SYSTEM,
        building_code=home.code,
        reason="case",
        now=at(NOV[15]),
        tz=TZ,
        designate=False,
    )
    service.approve_area(session, principal=SYSTEM, area_id=proposed.id, now=at(NOV[16]), tz=TZ)
    assert proposed.policy_version == "2022-11-11"
    versions = [
        (e.step, e.policy_version) for e in service.area_events(session, area_id=proposed.id)
    ]
    assert versions == [("proposed", "2022-11-11"), ("approved", "six-days")]


def test_an_area_cannot_be_lifted_before_it_is_locked(session: Session) -> None:
    home = building(session, "500108", 1)
    active = area(session, home, status="active", active_from=NOV[20])
    with pytest.raises(Conflict, match="before it is locked"):
        service.lift_area(
            session, principal=SYSTEM, area_id=active.id, reason="x", now=at(NOV[18]), tz=TZ
        )
