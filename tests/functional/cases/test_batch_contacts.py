"""Close contacts registered as one batch are the contacts registered one at a time: the same
contacts (identified, reported by national ID, or by name), quarantine orders with the same beds
and waits, and referral needs. A bad row refuses the whole batch, named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, TZ, at, make_case
from tests.factories.people import make_person
from tests.factories.resources import facility as make_facility
from tests.savepoints import undone
from xietong.cases.contacts import service as contact_service
from xietong.cases.contacts.batch import ContactOfCase, register_contacts
from xietong.cases.models import Case, CloseContact, ContactReferralNeed, QuarantineOrder
from xietong.cases.schemas import ContactCreate
from xietong.core.errors import ValidationFailed
from xietong.core.principal import Principal
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector

HOME = "500113"
ELSEWHERE = "500114"
NOW = at(DAY, 18)


def _snapshot(session: Session, protector: PersonalDataProtector) -> dict[str, Any]:
    # Persons by their keyed hash: one registered for an unknown ID gets a new id each time.
    hashes: dict[int, bytes] = {i: h for i, h in session.execute(select(Person.id, Person.id_hash))}

    def who(person_id: int | None) -> str | None:
        return None if person_id is None else hashes[person_id].hex()

    key_of: dict[int, tuple[Any, ...]] = {}
    contacts = []
    for c in session.scalars(select(CloseContact)):
        name = protector.decrypt_optional(c.name_enc)
        key_of[c.id] = (c.case_id, who(c.person_id), name)
        contacts.append(
            (
                *key_of[c.id],
                protector.decrypt_optional(c.phone_enc),
                c.residence_district_id,
                c.residence_building_id,
                c.tracing_district_id,
                c.exposure_kind,
                c.last_exposure_at,
                c.registered_by,
                c.identified_at is not None,
            )
        )
    orders = sorted(
        (
            repr(key_of[o.contact_id]),
            who(o.person_id),
            o.district_id,
            o.facility_id,
            o.bed_from,
            o.status,
            o.starts_on,
            o.home_from,
            o.ends_on,
            tuple(o.test_days),
            o.policy_version,
        )
        for o in session.scalars(select(QuarantineOrder))
    )
    needs = sorted(
        (
            repr(key_of[n.contact_id]),
            who(n.person_id),
            n.case_id,
            n.from_district_id,
            n.to_district_id,
        )
        for n in session.scalars(select(ContactReferralNeed))
    )
    return {"contacts": sorted(contacts, key=repr), "orders": orders, "needs": needs}


def _scene(
    session: Session, protector: PersonalDataProtector
) -> tuple[Principal, list[Case], list[Person], list[Person]]:
    principal, _ = district_user(session, HOME)
    make_facility(session, district_code=HOME, beds=2)
    make_facility(session, district_code=ELSEWHERE, beds=1)
    cases = [
        make_case(session, protector, district_code=HOME, detected_at=at(DAY, 9 + k))
        for k in range(2)
    ]
    here = [make_person(session, protector, district_code=HOME) for _ in range(4)]
    # Persons the district may not see: named by national ID, found behind the answer.
    away = [make_person(session, protector, district_code=ELSEWHERE) for _ in range(3)]
    return principal, cases, here, away


rows = st.lists(
    st.tuples(
        st.integers(0, 1),  # the case
        st.sampled_from(["here", "away", "unknown", "name"]),
        st.integers(0, 2),  # which person (of its kind)
        st.integers(0, 3),  # days after DAY the order starts
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


def _contact_in(
    kind: str, index: int, start: int, here: list[Person], away: list[Person], ids: list[str]
) -> ContactCreate:
    common: dict[str, Any] = {
        "exposure_kind": "household",
        "last_exposure_at": at(DAY, 7),
        "quarantine_starts_on": DAY + timedelta(days=start),
    }
    if kind == "here":
        return ContactCreate(person_id=here[index].id, **common)
    if kind in ("away", "unknown"):
        national_id = ids[index % len(away)] if kind == "away" else ids[len(away) + index]
        return ContactCreate(
            national_id=national_id,
            name=f"密接{index}",
            phone="13900000000",
            residence_district_code=ELSEWHERE,
            **common,
        )
    return ContactCreate(name=f"同事{index}", residence_district_code=HOME, **common)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=rows)
def test_a_batch_registers_what_the_contacts_one_at_a_time_would(
    session: Session,
    protector: PersonalDataProtector,
    national_ids: list[str],
    rows: list[tuple[int, str, int, int]],
) -> None:
    with undone(session):
        principal, cases, here, away = _scene(session, protector)
        ids = national_ids
        for person, national_id in zip(away, ids, strict=False):
            person.id_hash = protector.hash_id(national_id)
        session.flush()
        batch = [
            ContactOfCase(cases[c].id, _contact_in(kind, i, start, here, away, ids))
            for c, kind, i, start in rows
        ]
        with undone(session):
            for row in batch:
                contact_service.register_contact(
                    session,
                    principal=principal,
                    protector=protector,
                    case_id=row.case_id,
                    contact_in=row.contact,
                    now=NOW,
                    tz=TZ,
                )
            alone = _snapshot(session, protector)
        with undone(session):
            made = register_contacts(
                session, principal=principal, protector=protector, contacts=batch, now=NOW, tz=TZ
            )
            together = _snapshot(session, protector)
        assert len(made) == len(batch)
        assert together == alone


@pytest.fixture
def national_ids() -> list[str]:
    """Valid synthetic ID numbers: three of persons the district may not see, four of nobody."""
    from xietong.people.synthetic import synthetic_national_id

    return [synthetic_national_id(serial=700 + k, birth=DAY.replace(year=1970)) for k in range(7)]


def test_a_bad_row_refuses_the_whole_batch_naming_each_bad_row(
    session: Session, protector: PersonalDataProtector
) -> None:
    principal, cases, here, _ = _scene(session, protector)
    ok = ContactCreate(person_id=here[0].id, exposure_kind="household")
    with pytest.raises(ValidationFailed) as refused:
        register_contacts(
            session,
            principal=principal,
            protector=protector,
            contacts=[
                ContactOfCase(cases[0].id, ok),
                ContactOfCase(cases[0].id, ok),  # the same person twice for one case
                ContactOfCase(10**9, ok),
                ContactOfCase(
                    cases[1].id,
                    ContactCreate(person_id=cases[0].person_id, exposure_kind="household"),
                ),
                ContactOfCase(
                    cases[1].id,
                    ContactCreate(
                        name="某人",
                        residence_building_code="NO-SUCH",
                        exposure_kind="workplace",
                        exposure_building_code="NOR-THIS",
                    ),
                ),
            ],
            now=NOW,
            tz=TZ,
        )
    assert {(e["record"], e["field"]) for e in refused.value.details} == {
        ("contact 2", "person"),
        ("contact 3", "case_id"),
        ("contact 4", "person"),
        ("contact 5", "residence_building_code"),
        ("contact 5", "exposure_building_code"),
    }
    assert session.scalar(select(CloseContact.id).limit(1)) is None
