"""Deadlines come from the policy's SLA and count from the push; a deadline is missed strictly
after it, the acknowledgement first, then locating and controlling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xietong.policy.rules import ReferralSla
from xietong.referrals import sla
from xietong.referrals.states import Status

PUSHED = datetime(2022, 11, 14, 12, 0, tzinfo=UTC)
DEFAULT = ReferralSla(
    acknowledge_within_hours=1,
    locate_and_control_within_hours=4,
    feedback_required_to_close=True,
    escalate_when_overdue=True,
)


def test_deadlines_follow_the_policy() -> None:
    due = sla.deadlines(PUSHED, DEFAULT)
    assert due.acknowledge_by == PUSHED + timedelta(hours=1)
    assert due.control_by == PUSHED + timedelta(hours=4)
    longer = DEFAULT.model_copy(update={"acknowledge_within_hours": 2})
    assert sla.deadlines(PUSHED, longer).acknowledge_by == PUSHED + timedelta(hours=2)


def test_a_naive_push_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sla.deadlines(PUSHED.replace(tzinfo=None), DEFAULT)


@pytest.mark.parametrize(
    ("status", "after", "missed"),
    [
        (Status.pushed, timedelta(hours=1), None),
        (Status.pushed, timedelta(hours=1, seconds=1), "acknowledge"),
        (Status.pushed, timedelta(hours=5), "acknowledge"),
        (Status.acknowledged, timedelta(hours=3), None),
        (Status.acknowledged, timedelta(hours=4, seconds=1), "control"),
        (Status.located, timedelta(hours=4, seconds=1), "control"),
        (Status.controlled, timedelta(hours=9), None),
        (Status.closed, timedelta(days=3), None),
        (Status.declined, timedelta(days=3), None),
    ],
)
def test_which_deadline_is_missed(status: Status, after: timedelta, missed: str | None) -> None:
    due = sla.deadlines(PUSHED, DEFAULT)
    expected = {None: None, "acknowledge": due.acknowledge_by, "control": due.control_by}[missed]
    assert sla.missed_deadline(status, due, PUSHED + after) == expected
    assert sla.is_overdue(status, due, PUSHED + after) is (missed is not None)


def test_the_inbox_timer_counts_down_to_the_next_deadline() -> None:
    due = sla.deadlines(PUSHED, DEFAULT)
    timer = sla.timer(Status.pushed, due, PUSHED + timedelta(minutes=20))
    assert timer.deadline == due.acknowledge_by
    assert timer.remaining == timedelta(minutes=40)
    late = sla.timer(Status.acknowledged, due, PUSHED + timedelta(hours=5))
    assert late.overdue and late.remaining == timedelta(hours=-1)
    assert sla.timer(Status.closed, due, PUSHED).deadline is None
