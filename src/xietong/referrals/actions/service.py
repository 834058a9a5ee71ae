"""Acting on a referral: the receiving district acknowledges (one or several at once), locates,
controls and closes it with feedback, or declines it (naming the district where the person is
pushes it on there), and gives it to one of its field workers; the command centre reassigns it;
whoever sees it may add a note. Each change writes its event and outbox message in the same
transaction, and moves the access grant to the district that now holds the referral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.errors import DomainError, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.people import service as people_service
from xietong.policy.rules import Policy
from xietong.referrals import sla
from xietong.referrals.models import Handoff, Referral, ReferralEvent
from xietong.referrals.service import (
    DONE,
    Policies,
    event_for,
    get_referral,
    notify,
    require_actor,
)
from xietong.referrals.states import (
    NEW_HOP,
    OPEN,
    Action,
    RefusedTransition,
    Status,
    next_status,
    refusal,
)

# --- actions ------------------------------------------------------------------------------------


def _grant_until(session: Session, referral: Referral, *, until: datetime | None) -> None:
    people_service.grant_access(
        session,
        person_id=referral.person_id,
        district_id=referral.to_district_id,
        reason=f"referral {referral.id}",
        expires_at=until,
    )


def _withdraw_grant(session: Session, referral: Referral, district_id: int, at: datetime) -> None:
    """The district that handed the referral on loses the access it gave, unless another open
    referral of the same person still needs it."""
    still_needed = session.scalar(
        select(Referral.id).where(
            Referral.person_id == referral.person_id,
            Referral.to_district_id == district_id,
            Referral.id != referral.id,
            Referral.status.not_in([Status.closed.value, Status.declined.value]),
        )
    )
    if still_needed is None:
        people_service.grant_access(
            session,
            person_id=referral.person_id,
            district_id=district_id,
            reason=f"referral {referral.id} handed on",
            expires_at=at,
        )


def _refuse(referral: Referral, field: str, reason: str, value: str | None = None) -> None:
    raise ValidationFailed(errors=[RowError(f"referral {referral.id}", field, reason, value)])


# The steps of the receiving district that carry no more than a note, as the routes name them.
STEPS: dict[str, Action] = {
    "acknowledge": Action.acknowledge,
    "located": Action.locate,
    "controlled": Action.control,
}


def act(
    session: Session,
    *,
    principal: Principal,
    referral_id: int,
    action: Action,
    at: datetime,
    tz: str,
    note: str | None = None,
    to_district_code: str | None = None,
) -> Referral:
    """Take one step on a referral: acknowledge it, the person found (找到人) or under control
    (管住人), or any other action with its note (feedback, reason) and district."""
    referral = get_referral(session, principal=principal, referral_id=referral_id, for_update=True)
    refused = refusal(action, principal=principal, receiving_district_id=referral.to_district_id)
    if refused is not None:
        raise PermissionDenied(refused)
    before = Status(referral.status)
    try:
        after = next_status(before, action)
    except RefusedTransition as exc:
        raise ValidationFailed(
            errors=[RowError(f"referral {referral.id}", "status", exc.reason, before.value)],
            summary=f"cannot {action.value}",
        ) from None
    policy = Policies(session, tz).at(at)
    note = note.strip() if note and note.strip() else None
    target = _next_district(session, referral, to_district_code) if action in NEW_HOP else None
    if action in (Action.decline, Action.reroute) and note is None:
        _refuse(referral, "reason", "a reason is required to decline")
    if action is Action.close and note is None and policy.referral_sla.feedback_required_to_close:
        _refuse(referral, "feedback", "feedback to the sending district is required to close")

    previous_receiver = referral.to_district_id
    detail: dict[str, Any] | None = None
    if target is not None:
        _start_hop(
            session,
            referral,
            action=action,
            to_district_id=target,
            actor=principal,
            at=at,
            note=note,
            policy=policy,
        )
        detail = {"from_district_id": previous_receiver, "to_district_id": target}
    referral.status = after.value
    _stamp(session, referral, action, at=at, note=note, policy=policy)
    _record(
        session,
        referral,
        action=DONE[action],
        from_status=before.value,
        principal=principal,
        at=at,
        note=note,
        detail=detail,
        # The district that handed the referral on hears of it too.
        also=[previous_receiver] if previous_receiver != referral.to_district_id else [],
    )
    if action is Action.decline:
        _withdraw_grant(session, referral, previous_receiver, at)
    return referral


def _next_district(session: Session, referral: Referral, to_district_code: str | None) -> int:
    """The district a referral is pushed on to: named, and not the one that holds it."""
    if not to_district_code:
        _refuse(referral, "to_district_code", "name the district to push the referral to")
    target = areas_service.get_district(session, code=str(to_district_code)).id
    if target == referral.to_district_id:
        _refuse(
            referral, "to_district_code", "the referral is with this district", to_district_code
        )
    return target


def _stamp(
    session: Session,
    referral: Referral,
    action: Action,
    *,
    at: datetime,
    note: str | None,
    policy: Policy,
) -> None:
    """When the step was taken, on the referral, with the feedback or the reason it carries."""
    referral.updated_at = at
    if action is Action.acknowledge:
        referral.acknowledged_at = at
    elif action is Action.locate:
        referral.located_at = at
    elif action is Action.control:
        referral.controlled_at = at
    elif action is Action.close:
        referral.closed_at = at
        referral.feedback = note
        # The receiving district keeps the person as long as the quarantine it set can last.
        _grant_until(session, referral, until=at + timedelta(days=policy.quarantine.total_days))
    elif action in (Action.decline, Action.reroute):
        referral.declined_at = at
        referral.decline_reason = note


def _start_hop(
    session: Session,
    referral: Referral,
    *,
    action: Action,
    to_district_id: int,
    actor: Principal,
    at: datetime,
    note: str | None,
    policy: Policy,
) -> None:
    """Push the referral on: the current hop ends, the new district gets the full SLA."""
    current = session.get(Handoff, (referral.id, referral.hop))
    if current is not None:
        current.ended_at = at
        current.ended_how = DONE[action]
    previous = referral.to_district_id
    due = sla.deadlines(at, policy.referral_sla)
    referral.hop += 1
    referral.to_district_id = to_district_id
    referral.pushed_at = at
    referral.acknowledge_due_at = due.acknowledge_by
    referral.control_due_at = due.control_by
    referral.acknowledged_at = referral.located_at = referral.controlled_at = None
    referral.overdue_at = referral.escalated_at = None
    # The field worker belonged to the district that held it before.
    referral.assignee = referral.assigned_at = None
    referral.policy_version = policy.version
    session.add(
        Handoff(
            referral_id=referral.id,
            hop=referral.hop,
            kind=DONE[action],
            from_district_id=previous,
            to_district_id=to_district_id,
            pushed_at=at,
            pushed_by=actor.username,
            note=note,
        )
    )
    session.flush()
    _grant_until(session, referral, until=None)
    _withdraw_grant(session, referral, previous, at)


class OnReferral(TypedDict):
    """Who acts on which referral, and when: what each action below is given beside its own
    note and district (`tz` is the city's, whose policy of the day sets the SLA)."""

    principal: Principal
    referral_id: int
    at: datetime
    tz: str


def close(session: Session, *, feedback: str, **on: Unpack[OnReferral]) -> Referral:
    """Close with feedback to the sending district (反饋)."""
    return act(session, action=Action.close, note=feedback, **on)


def decline(
    session: Session,
    *,
    reason: str,
    redirect_to_district_code: str | None = None,
    **on: Unpack[OnReferral],
) -> Referral:
    """Decline with a reason; naming the district where the person is pushes it on there."""
    action = Action.reroute if redirect_to_district_code else Action.decline
    return act(
        session, action=action, note=reason, to_district_code=redirect_to_district_code, **on
    )


def reassign(
    session: Session, *, to_district_code: str, note: str | None = None, **on: Unpack[OnReferral]
) -> Referral:
    """The command centre pushes the referral to another district (new hop, full SLA)."""
    return act(session, action=Action.reassign, note=note, to_district_code=to_district_code, **on)


# --- several at once ----------------------------------------------------------------------------

# One request acknowledges at most this many referrals (a page of the inbox is 100 at most).
MAX_AT_ONCE = 200


@dataclass(frozen=True)
class Outcome:
    """What became of a request on several referrals: those done, and why each other was not."""

    done: list[int] = field(default_factory=list)
    refused: dict[int, RowError] = field(default_factory=dict)


def _why(referral_id: int, exc: DomainError) -> RowError:
    if isinstance(exc, ValidationFailed) and exc.errors:
        first = exc.errors[0]
        return RowError(f"referral {referral_id}", first.field, first.reason, first.value)
    return RowError(f"referral {referral_id}", "referral", exc.message)


def acknowledge_many(
    session: Session,
    *,
    principal: Principal,
    referral_ids: Sequence[int],
    at: datetime,
    tz: str,
    note: str | None = None,
) -> Outcome:
    """Acknowledge each referral as `act` does one, each in its own savepoint: a referral that
    cannot be acknowledged is named with the reason and left as it was, the others are done."""
    require_actor(principal)
    ids = list(dict.fromkeys(referral_ids))
    if not ids:
        raise ValidationFailed(errors=[RowError("request", "referral_ids", "choose a referral")])
    if len(ids) > MAX_AT_ONCE:
        raise ValidationFailed(
            errors=[
                RowError("request", "referral_ids", f"at most {MAX_AT_ONCE} at once", str(len(ids)))
            ]
        )
    outcome = Outcome()
    for referral_id in ids:
        try:
            with session.begin_nested():
                act(
                    session,
                    principal=principal,
                    referral_id=referral_id,
                    action=Action.acknowledge,
                    at=at,
                    tz=tz,
                    note=note,
                )
        except DomainError as exc:
            outcome.refused[referral_id] = _why(referral_id, exc)
        else:
            outcome.done.append(referral_id)
    return outcome


# --- notes and assignment -----------------------------------------------------------------------

MAX_NOTE = 2000
# Who gives a referral to a field worker: the receiving district's coordinator, or the command
# centre on its behalf.
_ASSIGNERS = frozenset({Role.command, Role.district_coordinator})


def _record(
    session: Session,
    referral: Referral,
    *,
    action: str,
    principal: Principal,
    at: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
    from_status: str | None = None,
    also: Sequence[int] = (),
) -> ReferralEvent:
    """An event of the referral (`from_status` its status before, when the event changed it),
    with its message to the districts concerned and its audit row."""
    referral.updated_at = at
    event = event_for(
        referral,
        action=action,
        from_status=from_status or referral.status,
        at=at,
        actor=principal,
        note=note,
        detail=detail,
    )
    session.add(event)
    session.flush()
    notify(session, referral, event, also=also)
    auth_service.record_audit(
        session,
        principal=principal,
        action=action,
        entity="referral",
        entity_ids=[referral.id],
        reason=note,
    )
    return event


def add_note(
    session: Session, *, principal: Principal, referral_id: int, text: str, at: datetime
) -> ReferralEvent:
    """Add a note to a referral's history (anyone who sees the referral may)."""
    referral = get_referral(session, principal=principal, referral_id=referral_id, for_update=True)
    written = text.strip()
    if not written:
        _refuse(referral, "text", "the note is empty")
    if len(written) > MAX_NOTE:
        _refuse(referral, "text", f"longer than {MAX_NOTE} characters", str(len(written)))
    return _record(session, referral, action="noted", principal=principal, at=at, note=written)


def assignable(session: Session, *, principal: Principal, referral_id: int) -> list[str]:
    """The usernames of the active field workers of the district that holds the referral."""
    referral = get_referral(session, principal=principal, referral_id=referral_id)
    users, _ = auth_service.list_users(
        session,
        district_id=referral.to_district_id,
        active=True,
        role=Role.field_worker,
        limit=500,
    )
    return [u.username for u in users]


def assign(
    session: Session,
    *,
    principal: Principal,
    referral_id: int,
    assignee: str | None,
    at: datetime,
) -> Referral:
    """Give an open referral to a field worker of the district that holds it (None: to nobody)."""
    referral = get_referral(session, principal=principal, referral_id=referral_id, for_update=True)
    if principal.role not in _ASSIGNERS or principal.district_id not in (
        None,
        referral.to_district_id,
    ):
        raise PermissionDenied("only the receiving district's coordinator assigns a referral")
    if Status(referral.status) not in OPEN:
        _refuse(referral, "status", "only an open referral is assigned", referral.status)
    name = assignee.strip() if assignee and assignee.strip() else None
    if name is not None:
        user = auth_service.get_user(session, username=name)
        if user is None or not user.active:
            _refuse(referral, "assignee", "no active user of that name", name)
        elif user.role != Role.field_worker.value:
            _refuse(referral, "assignee", "not a field worker", name)
        elif user.district_id != referral.to_district_id:
            _refuse(referral, "assignee", "not a user of the receiving district", name)
    if name == referral.assignee:
        return referral
    previous = referral.assignee
    referral.assignee = name
    referral.assigned_at = at if name is not None else None
    _record(
        session,
        referral,
        action="assigned" if name is not None else "unassigned",
        principal=principal,
        at=at,
        detail={"assignee": name, "previous": previous},
    )
    return referral
