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
