"""Clusters (點): cases sharing a place within the policy's window are proposed together; a
person confirms or rejects; a cluster with no new case for the policy's days is closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, TZ, at, make_case, person_at, residence_code
from xietong.areas import service as areas_service
from xietong.cases import service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.models import Case, Cluster
from xietong.cases.schemas import PlaceCreate
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.policy.loader import default_policy

QUIET_DAYS = default_policy().cluster.inactive_after_days  # 14 in the default policy


def case_at_home(
    session: Session, protector: PersonalDataProtector, building: str, day_offset: int = 0
) -> Case:
    return make_case(
        session,
        protector,
        person=person_at(session, protector, building),
        detected_at=at(DAY + timedelta(days=day_offset)),
    )


def clusters_at(session: Session, building: str) -> list[Cluster]:
    building_id = areas_service.get_building(session, code=building).id
    return list(
        session.scalars(
            select(Cluster).where(Cluster.building_id == building_id).order_by(Cluster.id)
        )
    )


def test_two_cases_in_one_building_within_the_window_are_proposed_as_a_cluster(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500112", 1)
    first = case_at_home(session, protector, building)
    second = case_at_home(session, protector, building, day_offset=QUIET_DAYS)
    [cluster] = clusters_at(session, building)
    read = cluster_service.to_reads(session, [cluster], today=DAY)[0]
    assert read.status == "proposed"
    assert [(m.case_id, m.status, m.place_role) for m in read.members] == [
        (first.id, "proposed", "residence"),
        (second.id, "proposed", "residence"),
    ]
    assert (read.first_case_day, read.last_case_day) == (DAY, DAY + timedelta(QUIET_DAYS))


def test_cases_further_apart_than_the_window_are_not_one_cluster(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500112", 2)
    case_at_home(session, protector, building)
    case_at_home(session, protector, building, day_offset=QUIET_DAYS + 1)
    assert clusters_at(session, building) == []


def test_a_shared_workplace_proposes_a_cluster_there(
    session: Session, protector: PersonalDataProtector
) -> None:
    workplace = residence_code(session, "500113", 4)
    one = case_at_home(session, protector, residence_code(session, "500113", 1))
    other = case_at_home(session, protector, residence_code(session, "500106", 1))
    for case in (one, other):
        service.add_place(
            session,
            principal=SYSTEM,
            case_id=case.id,
            place_in=PlaceCreate(
                building_code=workplace, role="workplace", visited_on=DAY - timedelta(2)
            ),
            now=at(),
            tz=TZ,
        )
    [cluster] = clusters_at(session, workplace)
    read = cluster_service.to_reads(session, [cluster], today=DAY)[0]
    assert {m.case_id for m in read.members} == {one.id, other.id}
    assert {m.place_role for m in read.members} == {"workplace"}
    assert read.district_code == "500113"


def test_confirming_a_cluster_makes_it_active_until_its_quiet_days_pass(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500114", 1)
    case_at_home(session, protector, building)
    last = case_at_home(session, protector, building, day_offset=3)
    [cluster] = clusters_at(session, building)
    cluster_service.decide_cluster(
        session, principal=SYSTEM, cluster_id=cluster.id, decision="confirm", now=at()
    )
    last_quiet_day = last.report_day + timedelta(QUIET_DAYS)
    read = cluster_service.to_reads(session, [cluster], today=last_quiet_day)[0]
    assert (read.status, read.active, read.closes_on) == ("confirmed", True, last_quiet_day)
    assert {m.status for m in read.members} == {"confirmed"}

    assert (
        cluster_service.close_inactive_clusters(
            session, today=last_quiet_day, now=datetime.now(UTC)
        )
        == []
    )
    closed = cluster_service.close_inactive_clusters(
        session, today=last_quiet_day + timedelta(1), now=datetime.now(UTC)
    )
    assert closed == [cluster.id]
    assert cluster.closed_on == last_quiet_day
    read = cluster_service.to_reads(session, [cluster], today=last_quiet_day + timedelta(1))[0]
    assert read.active is False


def test_a_new_case_before_the_quiet_days_end_keeps_the_cluster_open(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500115", 1)
    case_at_home(session, protector, building)
    case_at_home(session, protector, building, day_offset=1)
    [cluster] = clusters_at(session, building)
    cluster_service.decide_cluster(
        session, principal=SYSTEM, cluster_id=cluster.id, decision="confirm", now=at()
    )
    newest = case_at_home(session, protector, building, day_offset=1 + QUIET_DAYS)
    assert clusters_at(session, building) == [cluster]
    assert cluster.last_case_day == newest.report_day
    assert (
        cluster_service.close_inactive_clusters(
            session, today=newest.report_day, now=datetime.now(UTC)
        )
        == []
    )


def test_a_rejected_cluster_is_proposed_again_when_a_new_case_appears_there(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500116", 1)
    first = case_at_home(session, protector, building)
    second = case_at_home(session, protector, building)
    [cluster] = clusters_at(session, building)
    cluster_service.decide_cluster(
        session, principal=SYSTEM, cluster_id=cluster.id, decision="reject", now=at()
    )
    assert cluster.status == "rejected"
    third = case_at_home(session, protector, building, day_offset=2)
    read = cluster_service.to_reads(session, [cluster], today=DAY)[0]
    assert read.status == "proposed"
    assert {(m.case_id, m.status) for m in read.members} == {
        (first.id, "rejected"),
        (second.id, "rejected"),
        (third.id, "proposed"),
    }


def test_confirming_one_member_confirms_the_cluster(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500117", 1)
    first = case_at_home(session, protector, building)
    case_at_home(session, protector, building)
    [cluster] = clusters_at(session, building)
    cluster_service.decide_member(
        session,
        principal=SYSTEM,
        cluster_id=cluster.id,
        case_id=first.id,
        decision="confirm",
        now=at(),
    )
    read = cluster_service.to_reads(session, [cluster], today=DAY)[0]
    assert read.status == "confirmed"
    assert sorted(m.status for m in read.members) == ["confirmed", "proposed"]


def test_a_district_coordinator_confirms_through_the_api_and_another_district_cannot_see_it(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500118", 1)
    case_at_home(session, protector, building)
    case_at_home(session, protector, building)
    [cluster] = clusters_at(session, building)
    _, own = district_user(session, "500118")
    _, other = district_user(session, "500106")
    proposed = app_client.get(
        "/api/cases/clusters",
        headers={"Authorization": f"Bearer {own}"},
        params={"status": "proposed"},
    ).json()
    assert cluster.id in [c["id"] for c in proposed["items"]]
    hidden = app_client.get(
        f"/api/cases/clusters/{cluster.id}", headers={"Authorization": f"Bearer {other}"}
    )
    assert hidden.status_code == 404
    confirmed = app_client.post(
        f"/api/cases/clusters/{cluster.id}/confirm",
        headers={"Authorization": f"Bearer {own}"},
        json={"note": "同楼栋聚集"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
