"""Every action in every state, on the database: allowed ones change the referral and write an
event and an outbox message in the same transaction; refused ones change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.referrals import (
    PUSHED_AT,
    RECEIVER,
    SENDER,
    THIRD,
    TZ,
    bring_to,
    district_id,
    make_referral,
)
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.outbox.models import OutboxMessage
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.models import Referral, ReferralEvent
from xietong.referrals.states import Action, Status

LATER = PUSHED_AT + timedelta(minutes=40)
MANUAL_ACTIONS = ["acknowledge", "locate", "control", "close", "decline", "reroute", "reassign"]
ALLOWED = {
    (Status.pushed, "acknowledge"): Status.acknowledged,
    (Status.acknowledged, "locate"): Status.located,
    (Status.located, "control"): Status.controlled,
    (Status.controlled, "close"): Status.closed,
    (Status.pushed, "decline"): Status.declined,
    (Status.acknowledged, "decline"): Status.declined,
    (Status.pushed, "reroute"): Status.pushed,
    (Status.acknowledged, "reroute"): Status.pushed,
    (Status.pushed, "reassign"): Status.pushed,
    (Status.acknowledged, "reassign"): Status.pushed,
    (Status.declined, "reassign"): Status.pushed,
}
CASES = [(status, action) for status in Status for action in MANUAL_ACTIONS]


def act(session: Session, referral: Referral, action: str) -> None:
    common = {"principal": SYSTEM, "referral_id": referral.id, "at": LATER, "tz": TZ}
    if action in ("acknowledge", "locate", "control"):
        action_service.act(session, action=Action(action), **common)
    elif action == "close":
        action_service.close(session, feedback="已管控, 核酸阴性", **common)
    elif action == "decline":
        action_service.decline(session, reason="已离开本区", **common)
    elif action == "reroute":
        action_service.decline(
            session, reason="人在江北区", redirect_to_district_code=THIRD, **common
        )
    elif action == "reassign":
        action_service.reassign(session, to_district_code=THIRD, note="改派", **common)


def counts(session: Session, referral: Referral) -> tuple[int, int]:
    events = session.scalar(select(func.count()).where(ReferralEvent.referral_id == referral.id))
    messages = session.scalar(
        select(func.count()).where(OutboxMessage.idempotency_key.like(f"referral:{referral.id}:%"))
    )
    return int(events or 0), int(messages or 0)


@pytest.mark.parametrize(("status", "action"), CASES, ids=lambda v: getattr(v, "value", v))
def test_each_action_in_each_state(
    session: Session, protector: PersonalDataProtector, status: Status, action: str
) -> None:
    referral = bring_to(session, make_referral(session, protector), status)
    before = counts(session, referral)
    if (status, action) in ALLOWED:
        act(session, referral, action)
        session.refresh(referral)
        assert referral.status == ALLOWED[(status, action)].value
        assert counts(session, referral) == (before[0] + 1, before[1] + 1)
    else:
        with pytest.raises(ValidationFailed) as refused:
            act(session, referral, action)
        assert refused.value.errors[0].field == "status"
        assert refused.value.errors[0].value == status.value
        session.refresh(referral)
        assert referral.status == status.value
        assert counts(session, referral) == before


def test_the_happy_path_stamps_each_step_and_keeps_the_feedback(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = bring_to(session, make_referral(session, protector), Status.closed)
    assert referral.acknowledged_at and referral.located_at and referral.controlled_at
    assert referral.closed_at and referral.feedback == "已集中隔离"
    actions = session.scalars(
        select(ReferralEvent.action)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.id)
    ).all()
    assert actions == ["pushed", "acknowledged", "located", "controlled", "closed"]
    topics = session.scalars(
        select(OutboxMessage.topic)
        .where(OutboxMessage.idempotency_key.like(f"referral:{referral.id}:%"))
        .order_by(OutboxMessage.id)
    ).all()
    assert topics == [f"referral.{a}" for a in actions]


def test_every_message_reaches_both_districts_and_the_command_centre(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"referral:{referral.id}:%"))
    ).one()
    assert set(message.audience) == {
        district_id(session, SENDER),
        district_id(session, RECEIVER),
        None,
    }
    assert message.payload["to_district"] == RECEIVER
    assert "name" not in message.payload and "phone" not in message.payload


def test_closing_without_feedback_is_refused(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = bring_to(session, make_referral(session, protector), Status.controlled)
    with pytest.raises(ValidationFailed) as refused:
        action_service.close(
            session, principal=SYSTEM, referral_id=referral.id, feedback="  ", at=LATER, tz=TZ
        )
    assert refused.value.errors[0].field == "feedback"


def test_declining_without_a_reason_is_refused(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    with pytest.raises(ValidationFailed) as refused:
        action_service.decline(
            session, principal=SYSTEM, referral_id=referral.id, reason="", at=LATER, tz=TZ
        )
    assert refused.value.errors[0].field == "reason"
