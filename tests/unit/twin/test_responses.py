"""How the twin's districts answer referrals: drawn from the seed, mostly within the SLA."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from xietong.twin.responses import ELSEWHERE_SHARES, LATE_SHARE, answer


def test_the_same_referral_gets_the_same_answer() -> None:
    one = answer(seed=1, person_id=42, reason="pooled_positive", hop=1, can_reroute=True)
    assert one == answer(seed=1, person_id=42, reason="pooled_positive", hop=1, can_reroute=True)


def test_most_answers_are_on_time_some_late() -> None:
    kinds = Counter(
        answer(seed=7, person_id=p, reason="close_contact", hop=1, can_reroute=False).kind
        for p in range(4_000)
    )
    assert set(kinds) == {"on_time", "late"}
    assert abs(kinds["late"] / 4_000 - LATE_SHARE) < 0.03, kinds


def test_a_person_staying_elsewhere_is_often_rerouted_there_sometimes_declined() -> None:
    kinds = Counter(
        answer(seed=7, person_id=p, reason="pooled_positive", hop=1, can_reroute=True).kind
        for p in range(4_000)
    )
    for kind, share in ELSEWHERE_SHARES.items():
        assert abs(kinds[kind] / 4_000 - share) < 0.03, kinds


def test_an_answer_on_time_meets_the_one_and_four_hour_deadlines_and_a_late_one_does_not() -> None:
    for p in range(500):
        reply = answer(seed=3, person_id=p, reason="positive", hop=1, can_reroute=False)
        assert reply.kind in ("on_time", "late")
        steps = dict(reply.steps)
        assert [s for s, _ in reply.steps] == ["acknowledge", "locate", "control", "close"]
        assert steps["acknowledge"] < steps["locate"] < steps["control"] < steps["close"]
        if reply.kind == "on_time":
            assert steps["acknowledge"] < timedelta(hours=1)
            assert steps["control"] < timedelta(hours=4)
        else:
            assert steps["acknowledge"] > timedelta(hours=1)


def test_a_referral_pushed_on_is_answered_on_time_by_its_new_district() -> None:
    for p in range(200):
        assert answer(seed=5, person_id=p, reason="positive", hop=2, can_reroute=True).kind == (
            "on_time"
        )
