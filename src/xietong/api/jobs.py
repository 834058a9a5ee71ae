"""The periodic jobs a server process runs beside its requests, each in its own unit of work."""

from __future__ import annotations

from xietong.interop import tasks as interop_tasks
from xietong.outbox.runtime import PeriodicJob
from xietong.referrals import tasks as referral_tasks


def periodic_jobs() -> list[PeriodicJob]:
    """Every domain's scheduled work: the escalation of overdue referrals, the bulk exports."""
    return [*referral_tasks.periodic_jobs(), *interop_tasks.periodic_jobs()]
