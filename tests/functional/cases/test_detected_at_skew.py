"""A case's detection time may run as far ahead of the server's clock as a tube's or a result's
(device clocks drift), and no further."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories.cases import at
from tests.factories.people import make_person
from xietong.cases import service
from xietong.cases.models import Case
from xietong.cases.schemas import CaseCreate
from xietong.core.clock import CLOCK_SKEW
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector


def _case_ahead(session: Session, protector: PersonalDataProtector, ahead: timedelta) -> Case:
    person = make_person(session, protector, district_code="500106")
    now = at()
    return service.create_case(
        session,
        principal=SYSTEM,
        case_in=CaseCreate(
            person_id=person.id,
            classification="asymptomatic",
            detected_at=now + ahead,
            report_district_code="500106",
        ),
        now=now,
        tz="Asia/Shanghai",
    )


def test_a_case_detected_a_minute_ahead_of_the_clock_is_accepted(
    session: Session, protector: PersonalDataProtector
) -> None:
    for ahead in (timedelta(minutes=1), CLOCK_SKEW):
        case = _case_ahead(session, protector, ahead)
        session.expire(case)
        assert case.id is not None and case.detected_at == at() + ahead


def test_a_case_detected_beyond_the_tolerated_skew_is_refused(
    session: Session, protector: PersonalDataProtector
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _case_ahead(session, protector, CLOCK_SKEW + timedelta(seconds=1))
    assert refused.value.errors[0].field == "detected_at"
