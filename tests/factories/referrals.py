"""Referrals between two districts at a fixed time, and the steps that bring one to a state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tests.factories.clock import TZ
from tests.factories.people import make_person
from xietong.areas import service as areas_service
from xietong.core.principal import SYSTEM, Principal
from xietong.people.protection import PersonalDataProtector
from xietong.referrals import service
from xietong.referrals.actions import service as action_service
from xietong.referrals.models import Referral
from xietong.referrals.states import Action, Status

# A Monday evening in Chongqing (UTC+8): 20:00 local.
PUSHED_AT = datetime(2022, 11, 14, 12, 0, tzinfo=UTC)
SENDER, RECEIVER, THIRD, FOURTH = "500106", "500108", "500112", "500113"

_serial = itertools.count(1)


def district_id(session: Session, code: str) -> int:
    return areas_service.get_district(session, code=code).id


def make_referral(
    session: Session,
    protector: PersonalDataProtector,
    *,
    from_code: str = SENDER,
    to_code: str = RECEIVER,
    reason: str = "pooled_positive",
    evidence: str | None = None,
    at: datetime = PUSHED_AT,
) -> Referral:
    """A person living in `to_code`, found in `from_code`, referred there."""
    person = make_person(session, protector, district_code=to_code, current_district_code=from_code)
    opened = service.open_referrals(
        session,
        causes=[
            service.ReferralCause(
                person_id=person.id,
                reason=reason,
                evidence=evidence or f"tube:{next(_serial)}",
                from_district_id=district_id(session, from_code),
                to_district_id=district_id(session, to_code),
            )
        ],
        actor=SYSTEM,
        at=at,
        tz=TZ,
    )
    return opened[0]


def bring_to(
    session: Session, referral: Referral, status: Status, *, by: Principal = SYSTEM
) -> Referral:
    """Drive a new referral to `status` along the usual path, a few minutes per step."""
    steps = {
        Status.pushed: [],
        Status.acknowledged: ["acknowledge"],
        Status.located: ["acknowledge", "locate"],
        Status.controlled: ["acknowledge", "locate", "control"],
        Status.closed: ["acknowledge", "locate", "control", "close"],
        Status.declined: ["decline"],
    }[status]
    for minutes, step in enumerate(steps, start=1):
        at = PUSHED_AT.replace(minute=minutes * 5)
        common = {"principal": by, "referral_id": referral.id, "at": at, "tz": TZ}
        if step in ("acknowledge", "locate", "control"):
            action_service.act(session, action=Action(step), **common)
        elif step == "close":
            action_service.close(session, feedback="已集中隔离", **common)
        elif step == "decline":
            action_service.decline(session, reason="查无此人", **common)
    assert referral.status == status.value
    return referral
