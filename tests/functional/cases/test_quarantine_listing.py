"""A district's list of quarantine orders: the orders it holds and those of the contacts it
traces that another district holds, each once, oldest start first, and a total that counts
exactly them, whatever the page or the filters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import DAY, add_contact, make_case
from tests.factories.referrals import district_id
from xietong.cases.models import CloseContact, QuarantineOrder
from xietong.cases.quarantine import service as quarantine_service
from xietong.core.principal import Principal, Role
from xietong.people.protection import PersonalDataProtector

SHAPINGBA, JIULONGPO, NAN_AN = "500106", "500107", "500108"


def _orders(session: Session, protector: PersonalDataProtector) -> None:
    """Contacts of cases of three districts living in the same or another district, their
    quarantine starting on different days (some on the same day: the id decides)."""
    plan = [
        (SHAPINGBA, [SHAPINGBA, JIULONGPO, SHAPINGBA, NAN_AN]),
        (JIULONGPO, [SHAPINGBA, JIULONGPO, JIULONGPO]),
        (NAN_AN, [NAN_AN, SHAPINGBA]),
    ]
    for k, (reported_in, living_in) in enumerate(plan):
        case = make_case(session, protector, district_code=reported_in)
        for n, home in enumerate(living_in):
            start = DAY + timedelta(days=(k + n) % 3)
            add_contact(session, protector, case, district_code=home, starts_on=start)


def _seen_by(session: Session, district: int) -> list[int]:
    """The oracle: every order, kept when the district holds it or traces its contact."""
    rows = session.execute(
        select(QuarantineOrder, CloseContact.tracing_district_id).join(
            CloseContact, CloseContact.id == QuarantineOrder.contact_id
        )
    ).all()
    kept = [o for o, tracing in rows if district in (o.district_id, tracing)]
    return [o.id for o in sorted(kept, key=lambda o: (o.starts_on, o.id))]


def test_a_district_lists_the_orders_it_holds_and_those_of_the_contacts_it_traces(
    session: Session, protector: PersonalDataProtector
) -> None:
    _orders(session, protector)
    for code in (SHAPINGBA, JIULONGPO, NAN_AN):
        district = district_id(session, code)
        reader = Principal(0, "coordinator", Role.district_coordinator, district)
        expected = _seen_by(session, district)
        orders, total = quarantine_service.list_orders(session, principal=reader, limit=100)
        assert [o.id for o in orders] == expected, code
        assert total == len(expected)
        pages = [
            quarantine_service.list_orders(session, principal=reader, limit=2, offset=offset)
            for offset in range(0, len(expected), 2)
        ]
        assert [o.id for page, _ in pages for o in page] == expected
        assert {t for _, t in pages} == {len(expected)}
        # A filter applies to both parts: the orders held by one district, by their end day.
        held_in = quarantine_service.list_orders(
            session, principal=reader, district_code=JIULONGPO, limit=100
        )
        jiulongpo = district_id(session, JIULONGPO)
        in_jiulongpo = [
            i for i in expected if session.get(QuarantineOrder, i).district_id == jiulongpo
        ]
        assert ([o.id for o in held_in[0]], held_in[1]) == (in_jiulongpo, len(in_jiulongpo))
    # Each district sees orders held elsewhere: the lists are not only its own.
    shapingba = district_id(session, SHAPINGBA)
    assert any(
        session.get(QuarantineOrder, i).district_id != shapingba
        for i in _seen_by(session, shapingba)
    )


def test_the_command_centre_lists_every_order(
    session: Session, protector: PersonalDataProtector
) -> None:
    _orders(session, protector)
    city = Principal(0, "chief", Role.command, None)
    everyone = session.scalars(
        select(QuarantineOrder.id).order_by(QuarantineOrder.starts_on, QuarantineOrder.id)
    ).all()
    orders, total = quarantine_service.list_orders(session, principal=city, limit=100)
    assert ([o.id for o in orders], total) == (list(everyone), len(everyone))
