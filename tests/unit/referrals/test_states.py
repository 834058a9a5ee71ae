"""The referral state machine, every pair of state and action: what is allowed and where it leads,
and that everything else is refused with a reason."""

from __future__ import annotations

import itertools

import pytest

from xietong.referrals.states import (
    Action,
    RefusedTransition,
    Status,
    allowed_actions,
    next_status,
)

# The whole table, written out: (state, action) → state after. Anything absent is refused.
ALLOWED = {
    (Status.pushed, Action.acknowledge): Status.acknowledged,
    (Status.acknowledged, Action.locate): Status.located,
    (Status.located, Action.control): Status.controlled,
    (Status.controlled, Action.close): Status.closed,
    (Status.pushed, Action.decline): Status.declined,
    (Status.acknowledged, Action.decline): Status.declined,
    (Status.pushed, Action.reroute): Status.pushed,
    (Status.acknowledged, Action.reroute): Status.pushed,
    (Status.pushed, Action.reassign): Status.pushed,
    (Status.acknowledged, Action.reassign): Status.pushed,
    (Status.declined, Action.reassign): Status.pushed,
    (Status.pushed, Action.escalate): Status.pushed,
    (Status.acknowledged, Action.escalate): Status.acknowledged,
    (Status.located, Action.escalate): Status.located,
}
PAIRS = list(itertools.product(Status, Action))
REFUSED = [pair for pair in PAIRS if pair not in ALLOWED]


@pytest.mark.parametrize(("status", "action"), list(ALLOWED), ids=lambda v: v.value)
def test_an_allowed_action_leads_to_its_state(status: Status, action: Action) -> None:
    assert next_status(status, action, overdue=True) is ALLOWED[(status, action)]


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=lambda v: v.value)
def test_every_other_action_is_refused_with_the_states_that_allow_it(
    status: Status, action: Action
) -> None:
    with pytest.raises(RefusedTransition) as refused:
        next_status(status, action, overdue=True)
    assert status.value in str(refused.value)
    assert refused.value.status is status and refused.value.action is action


def test_the_table_covers_every_pair_once() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(Status) * len(Action) == 48


@pytest.mark.parametrize("status", [Status.pushed, Status.acknowledged, Status.located])
def test_escalation_happens_once_per_hop_and_only_when_overdue(status: Status) -> None:
    assert next_status(status, Action.escalate, escalated=False, overdue=True) is status
    with pytest.raises(RefusedTransition, match="already escalated"):
        next_status(status, Action.escalate, escalated=True, overdue=True)
    with pytest.raises(RefusedTransition, match="not overdue"):
        next_status(status, Action.escalate, escalated=False, overdue=False)


def test_closed_is_final() -> None:
    assert allowed_actions(Status.closed) == []


def test_the_buttons_offered_match_the_table() -> None:
    for status in Status:
        expected = {a for (s, a) in ALLOWED if s is status and a is not Action.escalate}
        assert set(allowed_actions(status)) == expected
