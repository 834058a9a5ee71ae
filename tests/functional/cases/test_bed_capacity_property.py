"""Whatever the order in which contacts arrive, turn positive or wait for a bed, no quarantine
facility ever holds more contacts on a day than it has beds (a property over the real services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import DAY, add_contact, at, make_case
from tests.factories.resources import facility as make_facility
from xietong.cases.models import QuarantineOrder
from xietong.cases.quarantine import service as quarantine_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector

DISTRICT = "500112"
HORIZON = 16

contacts = st.lists(
    st.tuples(
        st.integers(0, 6),  # the day the contact's order starts
        st.none() | st.integers(0, 5),  # days after which the contact turns positive, if ever
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    beds=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    arrivals=contacts,
    sweeps=st.lists(st.integers(0, 10), max_size=4),
)
def test_no_facility_is_ever_filled_past_its_beds(
    session: Session,
    protector: PersonalDataProtector,
    beds: list[int],
    arrivals: list[tuple[int, int | None]],
    sweeps: list[int],
) -> None:
    nested = session.begin_nested()
    try:
        facilities = {
            f.id: f.beds
            for f in (make_facility(session, district_code=DISTRICT, beds=b) for b in beds)
        }
        case = make_case(session, protector, district_code=DISTRICT)
        for start, positive_after in sorted(arrivals, key=lambda a: a[0]):
            contact = add_contact(session, protector, case, starts_on=DAY + timedelta(start))
            if positive_after is not None:
                make_case(
                    session,
                    protector,
                    person=session.get_one(Person, contact.person_id),
                    detected_at=at(DAY + timedelta(start + positive_after)),
                )
        for offset in sorted(sweeps):
            quarantine_service.assign_waiting_orders(
                session, today=DAY + timedelta(offset), now=datetime.now(UTC)
            )

        used: dict[tuple[int, int], int] = {}
        for order in session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.facility_id.in_(facilities))
        ):
            assert order.bed_from is not None and order.facility_id is not None
            for offset in range(HORIZON):
                day = DAY + timedelta(offset)
                ended = order.ended_on is not None and day >= order.ended_on
                if order.bed_from <= day < order.home_from and not ended:
                    key = (order.facility_id, offset)
                    used[key] = used.get(key, 0) + 1
        assert all(count <= facilities[facility] for (facility, _), count in used.items())
    finally:
        nested.rollback()
