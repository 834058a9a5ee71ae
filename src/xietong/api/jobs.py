"""The periodic jobs a server process runs beside its requests, each in its own unit of work."""

from __future__ import annotations

from xietong.outbox.runtime import PeriodicJob
from xietong.referrals import tasks as referral_tasks


def periodic_jobs() -> list[PeriodicJob]:
    """Every domain's scheduled work (today: the escalation of overdue referrals)."""
    return [*referral_tasks.periodic_jobs()]
