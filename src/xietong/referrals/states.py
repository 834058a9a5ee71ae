"""The referral's state machine, pure: which action is allowed in which state, and where it leads.

    pushed ─acknowledge─► acknowledged ─locate─► located ─control─► controlled ─close─► closed
      │  ▲                     │
      │  └── reroute / reassign (a new hop to another district; the chain stays) ◄──┐
      └──────── decline ───────┴──► declined ──── reassign (command centre) ────────┘

Escalation does not move the state: an overdue referral (pushed, acknowledged or located past
its deadline) is marked escalated once per hop and the district keeps working on it.
"""

from __future__ import annotations

import enum

from xietong.core.principal import Principal, Role


class Status(enum.StrEnum):
    pushed = "pushed"  # 推送: waiting for the receiving district to acknowledge
    acknowledged = "acknowledged"
    located = "located"  # 找到人
    controlled = "controlled"  # 管住人
    closed = "closed"  # 反饋: feedback given to the sending district
    declined = "declined"  # not ours, and no district named: the command centre reassigns


class Action(enum.StrEnum):
    acknowledge = "acknowledge"
    locate = "locate"
    control = "control"
    close = "close"
    decline = "decline"  # with a reason, no district named
    reroute = "reroute"  # decline naming the district where the person is: pushed on at once
    reassign = "reassign"  # the command centre pushes it to another district
    escalate = "escalate"  # the escalation job, once per hop, when overdue


OPEN = frozenset({Status.pushed, Status.acknowledged, Status.located, Status.controlled})
# States in which a deadline still runs (controlled has met the locate-and-control deadline).
RUNNING = frozenset({Status.pushed, Status.acknowledged, Status.located})

TRANSITIONS: dict[Action, dict[Status, Status]] = {
    Action.acknowledge: {Status.pushed: Status.acknowledged},
    Action.locate: {Status.acknowledged: Status.located},
    Action.control: {Status.located: Status.controlled},
    Action.close: {Status.controlled: Status.closed},
    Action.decline: {Status.pushed: Status.declined, Status.acknowledged: Status.declined},
    Action.reroute: {Status.pushed: Status.pushed, Status.acknowledged: Status.pushed},
    Action.reassign: {
        Status.pushed: Status.pushed,
        Status.acknowledged: Status.pushed,
        Status.declined: Status.pushed,
    },
    Action.escalate: {status: status for status in RUNNING},
}

# Actions that start a new hop in another district.
NEW_HOP = frozenset({Action.reroute, Action.reassign})
# Actions of the receiving district (the command centre may take them on its behalf).
RECEIVER_ACTIONS = frozenset(
    {
        Action.acknowledge,
        Action.locate,
        Action.control,
        Action.close,
        Action.decline,
        Action.reroute,
    }
)


class RefusedTransition(Exception):
    """The action is not allowed in the referral's state; the message says why, for the user."""

    def __init__(self, status: Status, action: Action, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.action = action
        self.reason = reason


def next_status(
    status: Status, action: Action, *, escalated: bool = False, overdue: bool = False
) -> Status:
    """The state after `action`, or RefusedTransition."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        possible = ", ".join(sorted(s.value for s in allowed))
        raise RefusedTransition(
            status,
            action,
            f"a referral that is {status.value} cannot be given '{action.value}' "
            f"(only when {possible})",
        )
    if action is Action.escalate:
        if escalated:
            raise RefusedTransition(status, action, "already escalated in this hop")
        if not overdue:
            raise RefusedTransition(status, action, "not overdue")
    return allowed[status]


def allowed_actions(status: Status) -> list[Action]:
    """What can be done next (escalation aside), for the dashboard's buttons."""
    return [a for a, table in TRANSITIONS.items() if a is not Action.escalate and status in table]


# The API route (POST /api/referrals/{id}/<route>) of each action taken by hand; a decline that
# names a district (reroute) goes through the decline route.
ROUTES: dict[Action, str] = {
    Action.acknowledge: "acknowledge",
    Action.locate: "located",
    Action.control: "controlled",
    Action.close: "close",
    Action.decline: "decline",
    Action.reroute: "decline",
    Action.reassign: "reassign",
}


def refusal(action: Action, *, principal: Principal, receiving_district_id: int) -> str | None:
    """Why `principal` may not take `action` on a referral held by that district (None: may)."""
    if action in RECEIVER_ACTIONS:
        if principal.district_id is not None and principal.district_id != receiving_district_id:
            return "only the receiving district acts on this referral"
        return None
    if action is Action.reassign:
        if principal.role is not Role.command or principal.district_id is not None:
            return "only the command centre reassigns a referral"
        return None
    return f"{action.value} is done by the escalation job, not by hand"


def allowed_routes(
    status: Status, *, principal: Principal, receiving_district_id: int
) -> list[str]:
    """The routes `principal` may call now: the state allows the action and so does the same rule
    that authorises it (`refusal`)."""
    routes = [
        ROUTES[action]
        for action in allowed_actions(status)
        if refusal(action, principal=principal, receiving_district_id=receiving_district_id) is None
    ]
    return list(dict.fromkeys(routes))
