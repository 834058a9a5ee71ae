"""The board's pairs of districts counted in the database are what the SLA rules read of each
referral: how many are overdue and escalated, and the earliest deadline the overdue missed; and
how many are due within the hour, as the due-soon list has them."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories.clock import TZ
from tests.factories.referrals import (
    FOURTH,
    PUSHED_AT,
    RECEIVER,
    SENDER,
    THIRD,
    district_id,
    make_referral,
)
from xietong.core.principal import SYSTEM, Principal, Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.states import OPEN, Action
from xietong.referrals.tasks import escalate_overdue

PAIRS = [(SENDER, RECEIVER), (THIRD, RECEIVER), (SENDER, THIRD), (FOURTH, SENDER)]
# The steps each referral is taken through, a few minutes apart after it was pushed.
STEPS: list[list[str]] = [
    [],
    ["acknowledge"],
    ["acknowledge", "locate"],
    ["acknowledge", "locate", "control"],
    ["acknowledge", "locate", "control", "close"],
    ["decline"],
]
Row = tuple[str, str, int, int, datetime | None]


def read_one_by_one(session: Session, principal: Principal, now: datetime) -> list[Row]:
    """Every referral the principal sees, read by the SLA rules one at a time (the oracle)."""
    items, total = query_service.list_referrals(
        session, principal=principal, now=now, limit=1_000, audited=False
    )
    assert len(items) == total
    overdue: Counter[tuple[str, str]] = Counter()
    escalated: Counter[tuple[str, str]] = Counter()
    oldest: dict[tuple[str, str], datetime] = {}
    for item in items:
        pair = (item.from_district_code, item.to_district_code)
        if item.overdue:
            overdue[pair] += 1
            missed = item.missed_deadline
            assert missed is not None
            oldest[pair] = min(oldest.get(pair, missed), missed)
        if item.escalated_at is not None and item.status in OPEN:
            escalated[pair] += 1
    rows = [
        (a, b, overdue[a, b], escalated[a, b], oldest.get((a, b))) for a, b in overdue | escalated
    ]
    return sorted(rows, key=lambda r: (-r[2], -r[3], r[0], r[1]))


@pytest.fixture
def referrals(session: Session, protector: PersonalDataProtector) -> None:
    """24 referrals over six hours across four pairs, in every state, the late ones escalated."""
    for i, ((sender, receiver), steps) in enumerate(zip(itertools.cycle(PAIRS), STEPS * 4)):
        at = PUSHED_AT + timedelta(minutes=17 * i)
        referral = make_referral(session, protector, from_code=sender, to_code=receiver, at=at)
        for minutes, step in enumerate(steps, start=1):
            common = {
                "principal": SYSTEM,
                "referral_id": referral.id,
                "at": at + timedelta(minutes=5 * minutes),
                "tz": TZ,
            }
            if step == "close":
                action_service.close(session, feedback="已集中隔离", **common)  # type: ignore[arg-type]
            elif step == "decline":
                action_service.decline(session, reason="不在本区", **common)  # type: ignore[arg-type]
            else:
                action_service.act(session, action=Action(step), **common)  # type: ignore[arg-type]
    escalate_overdue(session, now=PUSHED_AT + timedelta(hours=3), tz=TZ)
    session.flush()


@pytest.mark.usefixtures("referrals")
@pytest.mark.parametrize("hours", [0.5, 1.5, 3, 4.5, 6, 9, 24 * 30])
def test_the_pairs_counted_in_the_database_are_the_sla_rules_reading(
    session: Session, hours: float
) -> None:
    now = PUSHED_AT + timedelta(hours=hours)
    city = Principal(user_id=0, username="chief", role=Role.command, district_id=None)
    third = Principal(0, "coordinator", Role.district_coordinator, district_id(session, THIRD))
    for principal in (city, third):
        pairs = query_service.waiting_by_pair(session, principal=principal, now=now)
        counted = [
            (p.from_code, p.to_code, p.overdue, p.escalated, p.oldest_deadline)
            for p in pairs
            if p.overdue or p.escalated
        ]
        assert counted == read_one_by_one(session, principal, now)
        # Due within the hour: the due-soon list's referrals, by pair.
        soon, _ = query_service.list_referrals(
            session, principal=principal, now=now, box="due_soon", limit=1_000, audited=False
        )
        by_pair = Counter((item.from_district_code, item.to_district_code) for item in soon)
        assert {(p.from_code, p.to_code): p.due_soon for p in pairs if p.due_soon} == by_pair
    # The instants chosen see overdue, escalated and on-time referrals alike.
    if hours == 4.5:
        assert any(row[2] for row in counted) and any(row[3] for row in counted)
    if hours == 0.5:
        pairs = query_service.waiting_by_pair(session, principal=city, now=now)
        assert any(p.due_soon for p in pairs)
