"""The escalation job: overdue referrals are marked once per hop and escalated to the command
centre (when the policy says so), run periodically by the server's workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.core.principal import SYSTEM, Principal
from xietong.outbox.runtime import PeriodicJob
from xietong.referrals import sla
from xietong.referrals.models import Referral
from xietong.referrals.service import Policies, event_for, notify, overdue_clause
from xietong.referrals.states import Action, Status, next_status

# Well inside the shortest deadline a policy can set (one hour): a referral is escalated at most
# this long after it fell overdue.
ESCALATION_EVERY_SECONDS = 30.0


def escalate_overdue(
    session: Session,
    *,
    now: datetime,
    tz: str,
    actor: Principal = SYSTEM,
    limit: int = 500,
) -> list[int]:
    """Mark every referral overdue in its current hop, once, and escalate it to the command
    centre when the policy says so; return the ids escalated.

    Concurrent jobs (several server processes on PostgreSQL) skip each other's rows, and a
    referral already marked in this hop is never selected again.
    """
    query = (
        select(Referral)
        .where(Referral.overdue_at.is_(None), overdue_clause(now))
        .order_by(Referral.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    policies = Policies(session, tz)
    escalated: list[int] = []
    for referral in list(session.scalars(query)):
        status = Status(referral.status)
        due = sla.Deadlines(referral.acknowledge_due_at, referral.control_due_at)
        missed = sla.missed_deadline(status, due, now)
        if missed is None:
            continue
        which = "acknowledge" if status is Status.pushed else "control"
        detail = {"missed": which, "deadline": missed.isoformat()}
        referral.overdue_at = now
        referral.updated_at = now
        session.add(
            event_for(
                referral,
                action="overdue",
                from_status=status.value,
                at=now,
                actor=actor,
                detail=detail,
            )
        )
        if not policies.at(referral.pushed_at).referral_sla.escalate_when_overdue:
            continue
        next_status(
            status, Action.escalate, escalated=referral.escalated_at is not None, overdue=True
        )
        referral.escalated_at = now
        event = event_for(
            referral,
            action="escalated",
            from_status=status.value,
            at=now,
            actor=actor,
            detail=detail,
        )
        session.add(event)
        session.flush()
        notify(session, referral, event)
        escalated.append(referral.id)
    session.flush()
    return escalated


def _run(session: Session, settings: Settings, now: datetime) -> object:
    return escalate_overdue(session, now=now, tz=settings.timezone)


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("referral-escalation", ESCALATION_EVERY_SECONDS, _run)]
