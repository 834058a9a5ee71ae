"""The districts' referral desks in the twin: each receiving district answers the referrals in its
inbox through the referrals services (acknowledge, locate, control, close with feedback, or
re-route, or decline for the command centre to reassign), at the moments `responses` draws, and
the escalation job runs at each deadline so that a late answer is escalated as it would be live.

Open referrals are read through `list_referrals`; the newest referral's id (read from the table)
tells the desk when a new one was opened and the list must be read again.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.core.principal import SYSTEM
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox.service import list_referrals
from xietong.referrals.models import Referral
from xietong.referrals.schemas import ReferralSummary
from xietong.referrals.states import Action, Status
from xietong.referrals.tasks import ESCALATION_EVERY_SECONDS, escalate_overdue
from xietong.twin import responses
from xietong.twin.scene import Scene

_PAGE = 500
_LISTED = [
    Status.pushed,
    Status.acknowledged,
    Status.located,
    Status.controlled,
    Status.declined,
]
_DONE_STEPS = {
    Status.pushed: 0,
    Status.acknowledged: 1,
    Status.located: 2,
    Status.controlled: 3,
}
# The escalation job runs every ESCALATION_EVERY_SECONDS: a missed deadline is caught this late.
_JOB_LAG = timedelta(seconds=ESCALATION_EVERY_SECONDS)
FEEDBACK = (
    "已找到人、管住人: located at the address given and placed under control as the policy asks"
)


@dataclass
class _Referral:
    id: int
    person: int  # index in the city
    reason: str
    hop: int
    status: Status
    pushed_at: datetime
    to_district_id: int
    acknowledge_due_at: datetime
    control_due_at: datetime
    escalated: bool


def _from_summary(scene: Scene, r: ReferralSummary, district_ids: dict[str, int]) -> _Referral:
    return _desk_view(scene, r, to_district_id=district_ids[r.to_district_code])


def _from_model(scene: Scene, r: Referral) -> _Referral:
    return _desk_view(scene, r, to_district_id=r.to_district_id)


def _desk_view(scene: Scene, r: ReferralSummary | Referral, *, to_district_id: int) -> _Referral:
    """A referral as the desk sees it, read from a list's summary or the table alike."""
    return _Referral(
        id=r.id,
        person=r.person_id - scene.city.first_person_id,
        reason=r.reason,
        hop=r.hop,
        status=Status(r.status),
        pushed_at=r.pushed_at,
        to_district_id=to_district_id,
        acknowledge_due_at=r.acknowledge_due_at,
        control_due_at=r.control_due_at,
        escalated=r.escalated_at is not None,
    )


class ReferralDesk:
    """Answers every open referral up to a moment; counts what it did."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.done: dict[str, int] = {}
        self._state: dict[int, _Referral] | None = None
        self._latest: int | None = None

    def begin(self) -> None:
        """A new step (a new transaction): forget what was read in the last one."""
        self.done = {}
        self._state = None
        self._latest = None

    def _open_referrals(self, session: Session, until: datetime) -> dict[int, _Referral]:
        """The open referrals, read through the service when a new one may have been opened
        since the last read (the desk itself keeps the state of those it acted on)."""
        latest = session.scalar(select(func.max(Referral.id)))
        if self._state is not None and latest == self._latest:
            return self._state
        district_ids = {code: i for i, code in self.scene.city.district_codes.items()}
        listed: list[_Referral] = []
        while True:
            page, _ = list_referrals(
                session,
                principal=SYSTEM,
                now=until,
                statuses=_LISTED,
                limit=_PAGE,
                offset=len(listed),
            )
            listed += [_from_summary(self.scene, r, district_ids) for r in page]
            if len(page) < _PAGE:
                break
        self._state = {r.id: r for r in listed}
        self._latest = latest
        return self._state

    def _count(self, what: str, n: int = 1) -> None:
        self.done[what] = self.done.get(what, 0) + n

    def _stays_in(self, person: int) -> int:
        return int(self.scene.city.current_district[person])

    def _answer(self, r: _Referral) -> responses.Answer:
        return responses.answer(
            seed=self.scene.seed,
            person_id=r.person,
            reason=r.reason,
            hop=r.hop,
            can_reroute=0 <= r.person < self.scene.city.size
            and self._stays_in(r.person) != r.to_district_id,
        )

    def _next(self, r: _Referral) -> tuple[datetime, str] | None:
        """When this referral's district acts next, and how."""
        answer = self._answer(r)
        if r.status is Status.declined:
            first = answer.steps[0][1] if answer.steps else timedelta(0)
            delay = responses.reassign_delay(seed=self.scene.seed, person_id=r.person, hop=r.hop)
            return r.pushed_at + first + delay, "reassign"
        if r.status not in _DONE_STEPS:
            return None
        step = answer.step_after(_DONE_STEPS[r.status])
        if step is None:
            return None
        return r.pushed_at + step[1], step[0]

    def _deadline(self, r: _Referral) -> datetime | None:
        if r.escalated:
            return None
        if r.status is Status.pushed:
            return r.acknowledge_due_at + _JOB_LAG
        if r.status in (Status.acknowledged, Status.located):
            return r.control_due_at + _JOB_LAG
        return None

    def advance(self, session: Session, until: datetime) -> None:
        """Every answer and escalation due up to `until`, in time order."""
        scene = self.scene
        state = self._open_referrals(session, until)
        queue: list[tuple[datetime, int, int, str]] = []
        serial = 0

        def schedule(r: _Referral) -> None:
            nonlocal serial
            upcoming = self._next(r)
            if upcoming is not None and upcoming[0] <= until:
                heapq.heappush(queue, (upcoming[0], serial, r.id, upcoming[1]))
                serial += 1
            deadline = self._deadline(r)
            if deadline is not None and deadline <= until:
                heapq.heappush(queue, (deadline, serial, r.id, "escalation"))
                serial += 1

        for referral_id in sorted(state):
            schedule(state[referral_id])
        while queue:
            at, _, referral_id, what = heapq.heappop(queue)
            r = state[referral_id]
            if what == "escalation":
                if r.escalated or self._deadline(r) != at:
                    continue  # acted on in time, or a deadline of an earlier hop
                escalated = escalate_overdue(session, now=at, tz=scene.tz)
                self._count("escalated", len(escalated))
                for other in escalated:
                    if other in state:
                        state[other].escalated = True
                continue
            if self._next(r) != (at, what):
                continue  # superseded by an earlier step of the same referral
            updated = self._act(session, r, what, at)
            state[referral_id] = _from_model(scene, updated)
            schedule(state[referral_id])

    def _act(self, session: Session, r: _Referral, what: str, at: datetime) -> Referral:
        scene, tz = self.scene, self.scene.tz
        actor = scene.coordinator(session, r.to_district_id)
        self._count(what)
        if what in ("acknowledge", "locate", "control"):
            return action_service.act(
                session, principal=actor, referral_id=r.id, action=Action(what), at=at, tz=tz
            )
        if what == "close":
            return action_service.close(
                session, principal=actor, referral_id=r.id, feedback=FEEDBACK, at=at, tz=tz
            )
        stays = scene.code(self._stays_in(r.person))
        if what == "reroute":
            return action_service.decline(
                session,
                principal=actor,
                referral_id=r.id,
                reason=f"not at home: the person stays in {stays}",
                redirect_to_district_code=stays,
                at=at,
                tz=tz,
            )
        if what == "decline":
            return action_service.decline(
                session,
                principal=actor,
                referral_id=r.id,
                reason="not found at the registered address",
                at=at,
                tz=tz,
            )
        return action_service.reassign(
            session,
            principal=scene.command(session),
            referral_id=r.id,
            to_district_code=stays,
            note=f"the person stays in {stays}",
            at=at,
            tz=tz,
        )
