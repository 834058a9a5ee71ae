"""Close contacts (密接) get a quarantine order dated from the policy, a bed in a facility of their
own district while one is free, and release on the end date with a negative test; a contact
living in another district is a referral need for that district."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, TZ, add_contact, at, make_case
from tests.factories.people import building_in, make_person, next_national_id
from tests.factories.resources import facility as make_facility
from xietong.areas import service as areas_service
from xietong.cases.contacts import needs as contact_needs
from xietong.cases.contacts import service as contact_service
from xietong.cases.models import CloseContact, QuarantineOrder
from xietong.cases.quarantine import service as quarantine_service
from xietong.cases.schemas import ContactCreate
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.policy import service as policy_service

SHAPINGBA, JIULONGPO = "500106", "500107"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def order_of(session: Session, contact: CloseContact) -> QuarantineOrder:
    return session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.contact_id == contact.id)
    ).one()


def district_id(session: Session, code: str) -> int:
    return areas_service.get_district(session, code=code).id


def test_the_order_runs_five_days_centralised_and_three_at_home_by_default(
    session: Session, protector: PersonalDataProtector
) -> None:
    make_facility(session, district_code=SHAPINGBA, beds=3)
    case = make_case(session, protector, district_code=SHAPINGBA)
    order = order_of(session, add_contact(session, protector, case, starts_on=DAY))
    assert (order.starts_on, order.home_from, order.ends_on) == (
        date(2022, 11, 14),
        date(2022, 11, 19),
        date(2022, 11, 21),
    )
    assert order.test_days == [
        "2022-11-14",
        "2022-11-15",
        "2022-11-16",
        "2022-11-18",
        "2022-11-19",
        "2022-11-21",
    ]
    assert order.policy_version == "2022-11-11"


def test_an_order_takes_its_dates_from_the_policy_in_force_on_its_first_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^version = "[^"]*"', 'version = "test-7-plus-3"', text)
    text = re.sub(r"(?m)^effective_from = \S+", "effective_from = 2022-11-20", text)
    text = re.sub(r"(?m)^centralised_quarantine_days = 5", "centralised_quarantine_days = 7", text)
    text = re.sub(
        r"(?m)^centralised_quarantine_test_days = \[[^]]*\]",
        "centralised_quarantine_test_days = [1, 3, 5, 7]",
        text,
    )
    policy_service.adopt_policy(
        session, principal=SYSTEM, text=text, source="test", now=datetime.now(UTC)
    )
    case = make_case(session, protector, district_code=SHAPINGBA)
    before = order_of(session, add_contact(session, protector, case, starts_on=DAY))
    after = order_of(session, add_contact(session, protector, case, starts_on=date(2022, 11, 20)))
    assert (before.policy_version, before.ends_on) == ("2022-11-11", date(2022, 11, 21))
    assert (after.policy_version, after.home_from, after.ends_on) == (
        "test-7-plus-3",
        date(2022, 11, 27),
        date(2022, 11, 29),
    )


def test_contacts_fill_the_districts_facility_then_wait_for_a_bed(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    facility = make_facility(session, district_code=JIULONGPO, beds=2)
    make_facility(session, district_code=SHAPINGBA, beds=50)  # another district's beds
    case = make_case(session, protector, district_code=JIULONGPO)
    orders = [order_of(session, add_contact(session, protector, case)) for _ in range(3)]
    assert [o.facility_id for o in orders] == [facility.id, facility.id, None]
    _, token = district_user(session, JIULONGPO)
    used = app_client.get(
        "/api/cases/occupancy", headers=auth(token), params={"day": DAY.isoformat()}
    ).json()
    assert used["facilities"] == [
        {
            "facility_code": facility.code,
            "district_code": JIULONGPO,
            "kind": "centralised_quarantine",
            "beds": 2,
            "used": 2,
        }
    ]
    assert used["awaiting_bed"] == 1
    assert quarantine_service.bed_occupancy(session, day=DAY) == {
        district_id(session, JIULONGPO): {"centralised_quarantine": 2}
    }
    waiting = app_client.get(
        "/api/cases/quarantine-orders", headers=auth(token), params={"awaiting_bed": True}
    ).json()
    assert [o["id"] for o in waiting["items"]] == [orders[2].id]


def test_a_bed_freed_by_a_contact_who_became_a_case_goes_to_a_waiting_order(
    session: Session, protector: PersonalDataProtector
) -> None:
    facility = make_facility(session, district_code=JIULONGPO, beds=1)
    case = make_case(session, protector, district_code=JIULONGPO)
    placed = add_contact(session, protector, case)
    waiting = order_of(session, add_contact(session, protector, case))
    assert waiting.facility_id is None
    make_case(
        session,
        protector,
        person=session.get_one(Person, placed.person_id),
        detected_at=at(DAY + timedelta(1)),
    )
    assert quarantine_service.assign_waiting_orders(
        session, today=DAY + timedelta(1), now=datetime.now(UTC)
    ) == [waiting.id]
    assert (waiting.facility_id, waiting.bed_from) == (facility.id, DAY + timedelta(1))
    assert quarantine_service.bed_occupancy(session, day=DAY + timedelta(1)) == {
        district_id(session, JIULONGPO): {"centralised_quarantine": 1}
    }


def test_release_needs_the_end_date_and_a_negative_test(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    order = order_of(session, add_contact(session, protector, case))
    _, token = district_user(session, SHAPINGBA)
    url = f"/api/cases/quarantine-orders/{order.id}/release"
    early = app_client.post(
        url,
        headers=auth(token),
        json={
            "tested_at": at(order.ends_on - timedelta(1), 8).isoformat(),
            "result": "negative",
            "released_at": at(order.ends_on - timedelta(1), 12).isoformat(),
        },
    )
    assert (early.status_code, early.json()["error"]["code"]) == (409, "release_refused")
    positive = app_client.post(
        url,
        headers=auth(token),
        json={
            "tested_at": at(order.ends_on, 8).isoformat(),
            "result": "positive",
            "released_at": at(order.ends_on, 12).isoformat(),
        },
    )
    assert positive.status_code == 409
    released = app_client.post(
        url,
        headers=auth(token),
        json={
            "tested_at": at(order.ends_on, 8).isoformat(),
            "result": "negative",
            "released_at": at(order.ends_on, 12).isoformat(),
        },
    )
    assert released.status_code == 200, released.text
    body = released.json()
    assert (body["status"], body["release_test_result"]) == ("released", "negative")
    assert body["release_test_at"].startswith("2022-11-21")


def test_a_contact_living_in_another_district_is_a_referral_need_for_it(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    elsewhere = add_contact(session, protector, case, district_code=JIULONGPO)
    add_contact(session, protector, case, district_code=SHAPINGBA)
    needs = [n for n in contact_needs.pending_referral_needs(session) if n.case_id == case.id]
    assert [
        (n.contact_id, n.person_id, n.reason, n.from_district_id, n.to_district_id) for n in needs
    ] == [
        (
            elsewhere.id,
            elsewhere.person_id,
            "close_contact",
            district_id(session, SHAPINGBA),
            district_id(session, JIULONGPO),
        )
    ]
    # The contact's own district quarantines the contact.
    assert order_of(session, elsewhere).district_id == district_id(session, JIULONGPO)
    contact_needs.mark_referral_needs_opened(session, need_ids=[needs[0].id], now=datetime.now(UTC))
    assert needs[0].id not in [n.id for n in contact_needs.pending_referral_needs(session)]


def _referral_to(session: Session, person_id: int) -> tuple[int, int] | None:
    from xietong.referrals.models import Referral

    row = session.execute(
        select(Referral.from_district_id, Referral.to_district_id).where(
            Referral.person_id == person_id
        )
    ).first()
    return None if row is None else (row[0], row[1])


def test_a_district_registers_a_contact_of_another_district_by_national_id(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    from xietong.people.identity import normalise

    case = make_case(session, protector, district_code=SHAPINGBA)
    national_id, known_id = next_national_id(), next_national_id()
    known = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=known_id,
            name="孙五",
            residence_building_code=building_in(session, JIULONGPO).code,
        ),
    )
    _, token = district_user(session, SHAPINGBA)
    assert app_client.get(f"/api/people/{known.id}", headers=auth(token)).status_code == 404
    # Another district's person needs what the district knows of it, like anyone unknown.
    bare = app_client.post(
        f"/api/cases/{case.id}/contacts",
        headers=auth(token),
        json={"national_id": known_id, "exposure_kind": "workplace"},
    )
    assert bare.status_code == 422
    response = app_client.post(
        f"/api/cases/{case.id}/contacts",
        headers=auth(token),
        json={
            "national_id": known_id,
            "name": "孙五",
            "residence_district_code": JIULONGPO,
            "exposure_kind": "workplace",
        },
    )
    assert response.status_code == 201, response.text
    # Matched to the existing person behind the answer (never duplicated), shown as reported,
    # with no access granted: that person's district gets the referral at once.
    assert response.json()["person_id"] is None and response.json()["name"] == "孙五"
    assert app_client.get(f"/api/people/{known.id}", headers=auth(token)).status_code == 404
    assert _referral_to(session, known.id) == (
        district_id(session, SHAPINGBA),
        district_id(session, JIULONGPO),
    )
    # A person not yet registered, with partial data (national ID, name, district only).
    created = app_client.post(
        f"/api/cases/{case.id}/contacts",
        headers=auth(token),
        json={
            "national_id": national_id,
            "name": "赵六",
            "residence_district_code": JIULONGPO,
            "exposure_kind": "venue",
        },
    )
    assert created.status_code == 201, created.text
    person = session.scalars(
        select(Person).where(Person.id_hash == protector.hash_id(normalise(national_id)))
    ).one()
    assert (person.residence_district_id, person.residence_building_id) == (
        district_id(session, JIULONGPO),
        None,
    )
    assert _referral_to(session, person.id) is not None


def test_a_contact_known_by_name_and_phone_is_referred_once_identified(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    from xietong.people.identity import normalise

    case = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)
    registered = app_client.post(
        f"/api/cases/{case.id}/contacts",
        headers=auth(token),
        json={
            "name": "钱七",
            "phone": "13900000000",
            "residence_district_code": JIULONGPO,
            "exposure_kind": "transport",
        },
    ).json()
    assert (registered["identified"], registered["name"], registered["referral_need_id"]) == (
        False,
        "钱七",
        None,
    )
    assert registered["quarantine_order"]["district_code"] == JIULONGPO
    national_id = next_national_id()
    identified = app_client.post(
        f"/api/cases/contacts/{registered['id']}/identify",
        headers=auth(token),
        json={"national_id": national_id},
    )
    assert identified.status_code == 200, identified.text
    body = identified.json()
    # Living in 九龍坡, the person is that district's to find: registered there and referred
    # at once; 沙坪壩 keeps the contact as it reported it.
    assert body["identified"] is False and body["name"] == "钱七"
    person = session.scalars(
        select(Person).where(Person.id_hash == protector.hash_id(normalise(national_id)))
    ).one()
    assert protector.decrypt(person.name_enc) == "钱七"
    assert _referral_to(session, person.id) == (
        district_id(session, SHAPINGBA),
        district_id(session, JIULONGPO),
    )


def test_a_person_who_is_a_contact_of_two_cases_keeps_one_order(
    session: Session, protector: PersonalDataProtector
) -> None:
    first = make_case(session, protector, district_code=SHAPINGBA)
    second = make_case(session, protector, district_code=SHAPINGBA)
    person = make_person(session, protector, district_code=SHAPINGBA)
    add_contact(session, protector, first, person=person)
    again = add_contact(session, protector, second, person=person)
    orders = session.scalar(
        select(func.count(QuarantineOrder.id)).where(QuarantineOrder.person_id == person.id)
    )
    assert orders == 1
    [read] = contact_service.contact_reads(session, [again], principal=SYSTEM)
    assert read.quarantine_order is not None and read.quarantine_order.contact_id != again.id


def test_a_case_is_not_its_own_contact_and_a_case_is_not_a_contact(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    other = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)

    def register(person_id: int) -> int:
        return app_client.post(
            f"/api/cases/{case.id}/contacts",
            headers=auth(token),
            json={"person_id": person_id, "exposure_kind": "household"},
        ).status_code

    assert register(case.person_id) == 422
    assert register(other.person_id) == 409


def test_contacts_are_registered_with_the_services_clock(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    contact = contact_service.register_contact(
        session,
        principal=SYSTEM,
        protector=protector,
        case_id=case.id,
        contact_in=ContactCreate(
            person_id=make_person(session, protector, district_code=SHAPINGBA).id,
            exposure_kind="household",
        ),
        now=at(DAY, 23),
        tz=TZ,
    )
    assert order_of(session, contact).starts_on == DAY


def test_a_reported_contacts_order_holds_its_person_though_it_does_not_name_it(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA, detected_at=at(DAY, 9))
    national_id = next_national_id()
    person = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=national_id,
            name="钱七",
            residence_building_code=building_in(session, JIULONGPO).code,
        ),
    )
    tracer, _ = district_user(session, SHAPINGBA)
    contact_service.register_contact(
        session,
        principal=tracer,
        protector=protector,
        case_id=case.id,
        contact_in=ContactCreate(
            national_id=national_id,
            name="钱七",
            residence_district_code=JIULONGPO,
            exposure_kind="household",
            quarantine_starts_on=DAY,
        ),
        now=at(DAY, 10),
        tz=TZ,
    )
    contact = session.scalars(select(CloseContact).where(CloseContact.case_id == case.id)).one()
    order = order_of(session, contact)
    assert order.person_id is None  # the tracing district may not see who it is

    positive = make_case(
        session, protector, person=person, detected_at=at(DAY + timedelta(days=2), 11)
    )

    # Tested positive in quarantine: found under control, and the order ends for care.
    assert (positive.found_under_control, positive.control_reason) == (True, "quarantine_order")
    assert positive.control_order_id == order.id
    session.refresh(order)
    assert order.status == "became_case"


def test_beds_held_over_many_days_are_each_days_beds_read_alone(
    session: Session, protector: PersonalDataProtector
) -> None:
    from xietong.cases import metrics as cases_metrics

    make_facility(session, district_code=JIULONGPO, beds=3)
    make_facility(session, district_code=SHAPINGBA, beds=2)
    for code, contacts in ((JIULONGPO, 4), (SHAPINGBA, 1)):
        case = make_case(session, protector, district_code=code)
        for _ in range(contacts):
            add_contact(session, protector, case)
    ended = session.scalars(select(QuarantineOrder).where(QuarantineOrder.facility_id.is_not(None)))
    first = ended.first()
    assert first is not None and first.bed_from is not None
    first.ended_on = first.bed_from + timedelta(days=2)  # released early
    session.flush()
    days = [DAY + timedelta(days=k) for k in range(-2, 14)]
    every = quarantine_service.bed_occupancy_by_day(session, days=days)
    districts = sorted(areas_service.district_code_by_id(session))
    figures = cases_metrics.daily_metrics(
        session, cells=[(d, day) for d in districts for day in days], tz=TZ
    )
    held_at_all = False
    for day, beds in zip(days, every, strict=True):
        # The same as one day's query (`occupies_bed_on`) each.
        per_district = dict(
            session.execute(
                select(QuarantineOrder.district_id, func.count(QuarantineOrder.id))
                .where(quarantine_service.occupies_bed_on(day))
                .group_by(QuarantineOrder.district_id)
            ).all()
        )
        assert {d: sum(kinds.values()) for d, kinds in beds.items()} == per_district
        assert {
            d: figures[d, day]["quarantine_occupancy"]
            for d in districts
            if figures[d, day]["quarantine_occupancy"]
        } == per_district
        held_at_all = held_at_all or bool(per_district)
    assert held_at_all
