"""Daily referral metrics per receiving district and local day, recounted from raw rows."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from tests.factories.referrals import (
    PUSHED_AT,
    RECEIVER,
    THIRD,
    TZ,
    bring_to,
    district_id,
    make_referral,
)
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.referrals import metrics
from xietong.referrals.actions import service as action_service
from xietong.referrals.states import Status
from xietong.referrals.tasks import escalate_overdue

DAY = date(2022, 11, 14)  # 20:00 local on the 14th


def test_opened_closed_and_overdue_count_by_receiving_district_and_local_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    closed = bring_to(session, make_referral(session, protector), Status.closed)
    late = make_referral(session, protector)
    escalate_overdue(session, now=PUSHED_AT + timedelta(hours=5), tz=TZ)  # 01:00 on the 15th
    action_service.reassign(
        session,
        principal=SYSTEM,
        referral_id=late.id,
        to_district_code=THIRD,
        at=PUSHED_AT + timedelta(hours=6),
        tz=TZ,
    )
    receiver, third = district_id(session, RECEIVER), district_id(session, THIRD)
    cells = metrics.changed_cells(session, since=PUSHED_AT, tz=TZ)
    assert {
        (receiver, DAY),
        (receiver, DAY + timedelta(days=1)),
        (third, DAY + timedelta(days=1)),
    } <= cells
    counts = metrics.daily_metrics(session, cells=cells, tz=TZ)
    assert counts[(receiver, DAY)]["referrals_opened"] == 2
    assert counts[(receiver, DAY)]["referrals_closed"] == 1
    assert counts[(receiver, DAY + timedelta(days=1))]["referrals_overdue"] == 1
    assert counts[(third, DAY + timedelta(days=1))]["referrals_opened"] == 1
    assert closed.id != late.id
    assert metrics.changed_cells(session, since=PUSHED_AT + timedelta(days=3)) == set()
