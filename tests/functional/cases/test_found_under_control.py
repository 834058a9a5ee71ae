"""How a case was found is computed from the state at the instant of detection, never typed in:
under a quarantine order, held as a pool member, or inside an active high-risk area is under
control (管控內, with the reason stored); anything else is on the surface (社會面)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import (
    DAY,
    TZ,
    add_contact,
    at,
    make_case,
    person_at,
    residence_code,
)
from tests.factories.people import make_person
from tests.factories.resources import facility as make_facility
from xietong.cases.models import QuarantineOrder
from xietong.cases.quarantine import service as quarantine_service
from xietong.core.principal import SYSTEM
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.zones import service as zones_service
from xietong.zones.models import BuildingInfection


def lock_building(session: Session, building_code: str, *, day_before: int = 1) -> int:
    """Designate a building as a high-risk area from `day_before` days before DAY."""
    area = zones_service.open_area(
        session,
        principal=SYSTEM,
        building_code=building_code,
        reason="cases found in the building",
        now=at(DAY - timedelta(days=day_before), 9),
        tz=TZ,
        designate=True,
    )
    return area.id


def test_a_case_with_no_control_is_found_on_the_surface(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500106")
    assert (case.found_under_control, case.control_reason) == (False, None)


def test_every_new_case_records_its_infection_in_its_building_with_on_surface(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500106")
    infection = session.scalars(
        select(BuildingInfection).where(BuildingInfection.case_id == case.id)
    ).one()
    assert infection.building_id == case.residence_building_id
    assert infection.on_surface is True
    assert infection.day == DAY


def test_the_building_where_the_person_was_found_is_the_infections_building(
    session: Session, protector: PersonalDataProtector
) -> None:
    workplace = residence_code(session, "500107", 2)
    case = make_case(session, protector, district_code="500106", found_building_code=workplace)
    infection = session.scalars(
        select(BuildingInfection).where(BuildingInfection.case_id == case.id)
    ).one()
    assert infection.building_id == case.found_building_id != case.residence_building_id


def test_a_contact_under_a_quarantine_order_is_found_under_control(
    session: Session, protector: PersonalDataProtector
) -> None:
    make_facility(session, district_code="500106", beds=5)
    source = make_case(session, protector, district_code="500106", detected_at=at(DAY, 9))
    contact = add_contact(session, protector, source, starts_on=DAY)
    assert contact.person_id is not None
    person = session.get_one(Person, contact.person_id)
    later = make_case(
        session, protector, person=person, detected_at=at(DAY + timedelta(days=2), 10)
    )
    assert (later.found_under_control, later.control_reason) == (True, "quarantine_order")
    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.contact_id == contact.id)
    ).one()
    assert later.control_order_id == order.id
    # The contact leaves quarantine for care: the order ends and its bed is free that day.
    assert (order.status, order.ended_on) == ("became_case", DAY + timedelta(days=2))
    assert quarantine_service.bed_occupancy(session, day=DAY + timedelta(days=2)) == {}


def test_a_positive_before_the_order_starts_is_on_the_surface(
    session: Session, protector: PersonalDataProtector
) -> None:
    source = make_case(session, protector, district_code="500106", detected_at=at(DAY, 9))
    contact = add_contact(session, protector, source, starts_on=DAY + timedelta(days=1))
    person = session.get_one(Person, contact.person_id)
    case = make_case(session, protector, person=person, detected_at=at(DAY, 20))
    assert case.found_under_control is False


def test_a_person_inside_an_active_high_risk_area_is_found_under_control(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500108", 3)
    lock_building(session, building)
    case = make_case(session, protector, person=person_at(session, protector, building))
    assert (case.found_under_control, case.control_reason) == (True, "high_risk_area")
    infection = session.scalars(
        select(BuildingInfection).where(BuildingInfection.case_id == case.id)
    ).one()
    assert infection.on_surface is False


def test_an_area_locked_after_the_detection_does_not_make_it_under_control(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500108", 4)
    lock_building(session, building, day_before=-1)  # locked the day after DAY
    case = make_case(session, protector, person=person_at(session, protector, building))
    assert case.found_under_control is False


def test_a_lifted_area_no_longer_holds_its_residents(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500108", 5)
    area_id = lock_building(session, building, day_before=8)
    zones_service.lift_area(
        session, principal=SYSTEM, area_id=area_id, reason="5 clean days", now=at(DAY, 8), tz=TZ
    )
    case = make_case(session, protector, person=person_at(session, protector, building))
    assert case.found_under_control is False


def test_the_stronger_control_is_the_stored_reason(
    session: Session, protector: PersonalDataProtector
) -> None:
    building = residence_code(session, "500109", 1)
    lock_building(session, building)
    source = make_case(session, protector, district_code="500109", detected_at=at(DAY, 9))
    contact_person = person_at(session, protector, building)
    add_contact(session, protector, source, person=contact_person)
    case = make_case(
        session, protector, person=contact_person, detected_at=at(DAY + timedelta(days=1))
    )
    assert case.control_reason == "quarantine_order"


def test_the_api_ignores_a_typed_in_finding(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    _, token = district_user(session, "500106")
    response = app_client.post(
        "/api/cases",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "person_id": person.id,
            "classification": "confirmed",
            "detected_at": at().isoformat(),
            "found_under_control": True,
            "control_reason": "held",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["found_under_control"], body["control_reason"]) == (False, None)
    assert body["report_district_code"] == "500106"
