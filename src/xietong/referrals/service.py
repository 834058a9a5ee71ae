"""Referrals: opened where their cause is (a positive pool, a positive, a close contact living in
another district, or by hand), acted on by the receiving district, re-routed or reassigned along a
visible chain, escalated once when overdue. Services add and flush; the caller commits.

Every creation, state change and escalation writes its outbox message in the same transaction,
and the receiving district is granted access to the person when the referral reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.clock import local_day
from xietong.core.errors import NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.outbox import service as outbox
from xietong.people import service as people_service
from xietong.policy import service as policy_service
from xietong.policy.rules import Policy
from xietong.referrals import sla
from xietong.referrals.models import Handoff, Referral, ReferralEvent
from xietong.referrals.schemas import ReferralCreate
from xietong.referrals.states import (
    RUNNING,
    Action,
    Status,
)

ACTORS = frozenset({Role.command, Role.district_coordinator, Role.field_worker})
REASONS = frozenset(
    {"pooled_positive", "positive", "close_contact", "left_high_risk_area", "manual"}
)
# What each action is called once done: event names and outbox topics ("referral.<done>").
DONE = {
    Action.acknowledge: "acknowledged",
    Action.locate: "located",
    Action.control: "controlled",
    Action.close: "closed",
    Action.decline: "declined",
    Action.reroute: "rerouted",
    Action.reassign: "reassigned",
    Action.escalate: "escalated",
}
_INSERT_CHUNK = 500


@dataclass(frozen=True)
class ReferralCause:
    """Why a person must be pushed to another district; `evidence` identifies the cause."""

    person_id: int
    reason: str
    evidence: str
    from_district_id: int
    to_district_id: int
    note: str | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.person_id, self.reason, self.evidence)


class Policies:
    """The policy in force per local day, read once per operation."""

    def __init__(self, session: Session, tz: str) -> None:
        self._session = session
        self._tz = tz
        self._by_day: dict[date, Policy] = {}

    def at(self, when: datetime) -> Policy:
        day = local_day(when, self._tz)
        if day not in self._by_day:
            self._by_day[day] = policy_service.policy_in_force(self._session, day=day)
        return self._by_day[day]


def require_actor(principal: Principal) -> None:
    if principal.role not in ACTORS:
        raise PermissionDenied(f"role {principal.role} may not work on referrals")


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- notifications ------------------------------------------------------------------------------


def notify(
    session: Session,
    referral: Referral,
    event: ReferralEvent,
    *,
    also: Sequence[int | None] = (),
) -> None:
    notify_many(session, [(referral, event)], also=also)


def notify_many(
    session: Session,
    changes: Sequence[tuple[Referral, ReferralEvent]],
    *,
    also: Sequence[int | None] = (),
) -> None:
    """`notify` for many referrals' events, in one write to the outbox."""
    if not changes:
        return
    codes = areas_service.district_code_by_id(session)
    messages = []
    for referral, event in changes:
        payload: dict[str, Any] = {
            "referral_id": referral.id,
            "event": event.action,
            "status": referral.status,
            "hop": referral.hop,
            "reason": referral.reason,
            "person_id": referral.person_id,
            "from_district": codes[referral.from_district_id],
            "to_district": codes[referral.to_district_id],
            "pushed_at": referral.pushed_at,
            "acknowledge_due_at": referral.acknowledge_due_at,
            "control_due_at": referral.control_due_at,
            "at": event.at,
            "actor": event.actor,
        }
        if event.note:
            payload["note"] = event.note
        if event.action == "closed":
            payload["feedback"] = referral.feedback
        messages.append(
            outbox.Message(
                topic=f"referral.{event.action}",
                payload=payload,
                # The command centre sees every referral; both ends of the hop, and whoever
                # handed on.
                audience_district_ids=[
                    referral.to_district_id,
                    referral.from_district_id,
                    *also,
                    None,
                ],
                idempotency_key=f"referral:{referral.id}:event:{event.id}",
            )
        )
    # One instant for the batch: the events of one change share it.
    outbox.enqueue_many(session, messages=messages, now=changes[0][1].at)


def event_for(
    referral: Referral,
    *,
    action: str,
    from_status: str | None,
    at: datetime,
    actor: Principal,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ReferralEvent:
    return ReferralEvent(
        referral_id=referral.id,
        hop=referral.hop,
        at=at,
        action=action,
        from_status=from_status,
        to_status=referral.status,
        district_id=referral.to_district_id,
        actor=actor.username,
        actor_district_id=actor.district_id,
        note=note,
        detail=detail,
    )


# --- creation -----------------------------------------------------------------------------------


def open_referrals(
    session: Session,
    *,
    causes: Sequence[ReferralCause],
    actor: Principal,
    at: datetime,
    tz: str,
) -> list[Referral]:
    """Open one referral per cause not opened before; return the new ones.

    A cause seen again (a file ingested twice, a concurrent ingestion) opens nothing: the
    unique (person, reason, evidence) decides, inside the database.
    """
    for cause in causes:
        _check_cause(cause)
    unique = list({cause.key: cause for cause in causes}.values())
    if not unique:
        return []
    new_ids = _insert_new(session, unique, actor=actor, at=at, policy=Policies(session, tz).at(at))
    if not new_ids:
        return []
    referrals = list(
        session.scalars(select(Referral).where(Referral.id.in_(new_ids)).order_by(Referral.id))
    )
    _push_first_hop(session, referrals, actor=actor, at=at)
    auth_service.record_audit(
        session,
        principal=actor,
        action="create",
        entity="referral",
        entity_ids=[r.id for r in referrals],
    )
    return referrals


def _check_cause(cause: ReferralCause) -> None:
    if cause.reason not in REASONS:
        raise ValidationFailed(errors=[RowError("cause", "reason", "unknown", cause.reason)])
    if cause.from_district_id == cause.to_district_id:
        raise ValidationFailed(
            errors=[RowError("cause", "to_district", "the same as the sending district")]
        )


def _insert_new(
    session: Session,
    causes: Sequence[ReferralCause],
    *,
    actor: Principal,
    at: datetime,
    policy: Policy,
) -> list[int]:
    """Insert a referral per cause, skipping those the database already holds; the new ids."""
    due = sla.deadlines(at, policy.referral_sla)
    new_ids: list[int] = []
    for start in range(0, len(causes), _INSERT_CHUNK):
        chunk = causes[start : start + _INSERT_CHUNK]
        statement = (
            _insert(session)(Referral)
            .values(
                [
                    {
                        "person_id": c.person_id,
                        "reason": c.reason,
                        "evidence": c.evidence,
                        "from_district_id": c.from_district_id,
                        "to_district_id": c.to_district_id,
                        "hop": 1,
                        "status": Status.pushed.value,
                        "note": c.note,
                        "created_at": at,
                        "created_by": actor.username,
                        "updated_at": at,
                        "pushed_at": at,
                        "acknowledge_due_at": due.acknowledge_by,
                        "control_due_at": due.control_by,
                        "policy_version": policy.version,
                    }
                    for c in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["person_id", "reason", "evidence"])
            .returning(Referral.id)
        )
        new_ids.extend(session.scalars(statement))
    return new_ids


def _push_first_hop(
    session: Session, referrals: Sequence[Referral], *, actor: Principal, at: datetime
) -> None:
    """Each new referral's first hop and event; its receiving district may see the person, and
    hears of it."""
    events = []
    for referral in referrals:
        session.add(
            Handoff(
                referral_id=referral.id,
                hop=1,
                kind="created",
                from_district_id=referral.from_district_id,
                to_district_id=referral.to_district_id,
                pushed_at=at,
                pushed_by=actor.username,
                note=referral.note,
            )
        )
        event = event_for(
            referral,
            action="pushed",
            from_status=None,
            at=at,
            actor=actor,
            note=referral.note,
            detail={"reason": referral.reason, "evidence": referral.evidence},
        )
        session.add(event)
        events.append(event)
    session.flush()
    people_service.grant_access_many(
        session,
        grants=[(r.person_id, r.to_district_id, f"referral {r.id}") for r in referrals],
    )
    notify_many(session, list(zip(referrals, events, strict=True)))


def create_manual(
    session: Session, *, principal: Principal, referral_in: ReferralCreate, at: datetime, tz: str
) -> tuple[Referral, bool]:
    """Refer a person by hand; the same person, reason and evidence return the existing one."""
    require_actor(principal)
    evidence = referral_in.evidence.strip()
    existing = session.scalar(
        select(Referral).where(
            Referral.person_id == referral_in.person_id,
            Referral.reason == referral_in.reason,
            Referral.evidence == evidence,
        )
    )
    if existing is not None:
        return get_referral(session, principal=principal, referral_id=existing.id), False
    person = people_service.get_person(
        session, principal=principal, person_id=referral_in.person_id, reason="referral: creation"
    )
    codes = areas_service.district_id_by_code(session)

    def district(code: str, field: str) -> int:
        if code not in codes:
            raise ValidationFailed(errors=[RowError("referral", field, "unknown district", code)])
        return codes[code]

    if principal.district_id is not None:
        from_district = principal.district_id
        if (
            referral_in.from_district_code
            and district(referral_in.from_district_code, "from_district_code") != from_district
        ):
            raise PermissionDenied("a district sends referrals only in its own name")
    elif referral_in.from_district_code:
        from_district = district(referral_in.from_district_code, "from_district_code")
    else:
        from_district = person.current_district_id
    to_district = (
        district(referral_in.to_district_code, "to_district_code")
        if referral_in.to_district_code
        else person.residence_district_id
    )
    if to_district == from_district:
        raise ValidationFailed(
            errors=[
                RowError(
                    "referral",
                    "to_district_code",
                    "the person belongs to the sending district: no referral is needed",
                )
            ]
        )
    opened = open_referrals(
        session,
        causes=[
            ReferralCause(
                person_id=person.id,
                reason=referral_in.reason,
                evidence=evidence,
                from_district_id=from_district,
                to_district_id=to_district,
                note=referral_in.note,
            )
        ],
        actor=principal,
        at=at,
        tz=tz,
    )
    if opened:
        return opened[0], True
    # Opened concurrently by another request a moment ago.
    raced = session.scalar(
        select(Referral).where(
            Referral.person_id == person.id,
            Referral.reason == referral_in.reason,
            Referral.evidence == evidence,
        )
    )
    assert raced is not None
    return raced, False


# --- scope --------------------------------------------------------------------------------------


def visibility_clause(principal: Principal) -> Any:
    """A district sees referrals to it, from it, or that passed through it; the city, all."""
    if principal.district_id is None:
        return None
    district = principal.district_id
    passed = (
        select(Handoff.referral_id)
        .where(Handoff.referral_id == Referral.id, Handoff.to_district_id == district)
        .exists()
    )
    return or_(Referral.to_district_id == district, Referral.from_district_id == district, passed)


def get_referral(
    session: Session, *, principal: Principal, referral_id: int, for_update: bool = False
) -> Referral:
    """One referral within the principal's scope; another district's is not found (404)."""
    require_actor(principal)
    query = select(Referral).where(Referral.id == referral_id)
    clause = visibility_clause(principal)
    if clause is not None:
        query = query.where(clause)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Referral)
    referral = session.scalar(query)
    if referral is None:
        raise NotFound(f"no referral {referral_id}", code="referral_not_found")
    return referral


DUE_SOON: Final = timedelta(hours=1)


def due_soon_clause(now: datetime, within: timedelta = DUE_SOON) -> Any:
    """Open referrals not yet overdue whose next deadline falls within `within` of `now`."""
    return or_(
        and_(
            Referral.status == Status.pushed.value,
            Referral.acknowledge_due_at >= now,
            Referral.acknowledge_due_at <= now + within,
        ),
        and_(
            Referral.status.in_([s.value for s in RUNNING]),
            Referral.control_due_at >= now,
            Referral.control_due_at <= now + within,
        ),
    )


def overdue_clause(now: datetime) -> Any:
    return or_(
        and_(Referral.status == Status.pushed.value, Referral.acknowledge_due_at < now),
        and_(
            Referral.status.in_([s.value for s in RUNNING]),
            Referral.control_due_at < now,
        ),
    )
