"""The escalation job: a referral past a deadline is marked overdue and escalated to the command
centre once per hop, however often the job runs; in time, it is left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.referrals import PUSHED_AT, THIRD, TZ, make_referral
from xietong.core.principal import SYSTEM
from xietong.outbox.models import OutboxMessage
from xietong.people.protection import PersonalDataProtector
from xietong.policy import service as policy_service
from xietong.referrals.actions import service as action_service
from xietong.referrals.models import Referral, ReferralEvent
from xietong.referrals.states import Action
from xietong.referrals.tasks import escalate_overdue


def escalate(session: Session, after: timedelta) -> list[int]:
    return escalate_overdue(session, now=PUSHED_AT + after, tz=TZ)


def events(session: Session, referral: Referral) -> list[str]:
    return list(
        session.scalars(
            select(ReferralEvent.action)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.id)
        )
    )


def escalation_messages(session: Session, referral: Referral) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.topic == "referral.escalated",
                OutboxMessage.idempotency_key.like(f"referral:{referral.id}:%"),
            )
        )
    )


def test_an_unacknowledged_referral_is_escalated_once_after_an_hour(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    assert referral.id not in escalate(session, timedelta(minutes=60))
    assert referral.id in escalate(session, timedelta(minutes=61))
    for later in (timedelta(minutes=62), timedelta(hours=5), timedelta(days=2)):
        assert referral.id not in escalate(session, later)
    assert events(session, referral) == ["pushed", "overdue", "escalated"]
    (message,) = escalation_messages(session, referral)
    assert None in message.audience  # the command centre
    assert referral.escalated_at == PUSHED_AT + timedelta(minutes=61)


def test_an_escalated_referral_can_still_be_worked_on(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    escalate(session, timedelta(hours=2))
    action_service.act(
        session,
        action=Action.acknowledge,
        principal=SYSTEM,
        referral_id=referral.id,
        at=PUSHED_AT + timedelta(hours=2, minutes=5),
        tz=TZ,
    )
    assert referral.status == "acknowledged" and referral.escalated_at is not None
    assert referral.id not in escalate(session, timedelta(hours=5))


def test_missing_the_locate_and_control_deadline_escalates(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    action_service.act(
        session,
        action=Action.acknowledge,
        principal=SYSTEM,
        referral_id=referral.id,
        at=PUSHED_AT + timedelta(minutes=30),
        tz=TZ,
    )
    assert referral.id not in escalate(session, timedelta(hours=4))
    assert referral.id in escalate(session, timedelta(hours=4, minutes=1))
    overdue = session.scalars(
        select(ReferralEvent).where(
            ReferralEvent.referral_id == referral.id, ReferralEvent.action == "overdue"
        )
    ).one()
    assert overdue.detail is not None and overdue.detail["missed"] == "control"


def test_a_referral_controlled_in_time_is_never_escalated(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    for minutes, step in ((10, Action.acknowledge), (60, Action.locate)):
        action_service.act(
            session,
            action=step,
            principal=SYSTEM,
            referral_id=referral.id,
            at=PUSHED_AT + timedelta(minutes=minutes),
            tz=TZ,
        )
    action_service.act(
        session,
        action=Action.control,
        principal=SYSTEM,
        referral_id=referral.id,
        at=PUSHED_AT + timedelta(hours=3),
        tz=TZ,
    )
    assert referral.id not in escalate(session, timedelta(days=1))
    assert "escalated" not in events(session, referral)


def test_a_reassigned_referral_gets_a_new_hop_and_may_be_escalated_again(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    escalate(session, timedelta(hours=2))
    action_service.reassign(
        session,
        principal=SYSTEM,
        referral_id=referral.id,
        to_district_code=THIRD,
        at=PUSHED_AT + timedelta(hours=2, minutes=10),
        tz=TZ,
    )
    assert referral.escalated_at is None and referral.hop == 2
    assert referral.id not in escalate(session, timedelta(hours=3))
    assert referral.id in escalate(session, timedelta(hours=3, minutes=11))
    assert referral.id not in escalate(session, timedelta(hours=9))
    assert len(escalation_messages(session, referral)) == 2


def test_without_escalation_in_the_policy_an_overdue_referral_is_only_marked(
    session: Session, protector: PersonalDataProtector
) -> None:
    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2022-11-11"', 'version = "no-escalation"')
    text = text.replace("escalate_when_overdue = true", "escalate_when_overdue = false")
    policy_service.adopt_policy(
        session,
        principal=SYSTEM,
        text=text,
        source="test",
        effective_from=date(2022, 11, 13),
        now=datetime.now(UTC),
    )
    referral = make_referral(session, protector)
    assert referral.policy_version == "no-escalation"
    assert escalate(session, timedelta(hours=2)) == []
    assert events(session, referral) == ["pushed", "overdue"]
    assert referral.overdue_at is not None and referral.escalated_at is None
