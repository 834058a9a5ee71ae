"""Deadlines of a referral from the policy's SLA, and whether one is missed: pure, no database.

Both deadlines count from the moment the current hop was pushed (a re-routed or reassigned
referral gives the new district the full time). A deadline is missed strictly after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from xietong.policy.rules import ReferralSla
from xietong.referrals.states import Status


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: datetime
    control_by: datetime


def deadlines(pushed_at: datetime, sla: ReferralSla) -> Deadlines:
    if pushed_at.tzinfo is None:
        raise ValueError("pushed_at: must be timezone-aware")
    return Deadlines(
        acknowledge_by=pushed_at + sla.acknowledge_within,
        control_by=pushed_at + sla.locate_and_control_within,
    )


def missed_deadline(status: Status, due: Deadlines, now: datetime) -> datetime | None:
    """The first deadline the referral has missed by `now`, or None if it is on time."""
    if status is Status.pushed and now > due.acknowledge_by:
        return due.acknowledge_by
    if status in (Status.pushed, Status.acknowledged, Status.located) and now > due.control_by:
        return due.control_by
    return None


def is_overdue(status: Status, due: Deadlines, now: datetime) -> bool:
    return missed_deadline(status, due, now) is not None


@dataclass(frozen=True)
class Timer:
    """What the inbox shows: the next deadline that matters and the time left (negative: late)."""

    deadline: datetime | None
    remaining: timedelta | None
    overdue: bool


def timer(status: Status, due: Deadlines, now: datetime) -> Timer:
    if status is Status.pushed:
        target = due.acknowledge_by if now <= due.acknowledge_by else due.control_by
    elif status in (Status.acknowledged, Status.located):
        target = due.control_by
    else:
        return Timer(deadline=None, remaining=None, overdue=False)
    return Timer(deadline=target, remaining=target - now, overdue=is_overdue(status, due, now))
