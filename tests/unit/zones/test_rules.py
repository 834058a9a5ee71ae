"""The lifting countdown and the replay, pure: the issue's 5-day examples, the edges, and a slow
obvious oracle checked against the vectorised rules on random histories."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xietong.policy.loader import default_policy
from xietong.zones.rules import (
    LiftingRule,
    clean_days,
    earliest_lifting_offsets,
    lifting_countdown,
    replay,
    surface_proposals,
    trailing_run,
)

FIVE_DAYS = LiftingRule(
    clean_days=5, requires_negative_screening=True, propose_on_surface_case=True
)


def one_building(
    infected_days: list[int], negative_days: list[int], length: int
) -> tuple[np.ndarray, np.ndarray]:
    infected = np.zeros((1, length), dtype=bool)
    negative = np.zeros((1, length), dtype=bool)
    infected[0, infected_days] = True
    negative[0, negative_days] = True
    return infected, negative


def due_on(day: int, infected_days: list[int], negative_days: list[int]) -> bool:
    """Infection found on day 0 (column 0), the area locked from day 0; evaluate `day`."""
    infected, negative = one_building(infected_days, negative_days, day + 1)
    result = lifting_countdown(
        infected=infected, negative=negative, countable_from=np.array([0]), rule=FIVE_DAYS
    )
    return bool(result.due[0])


def test_the_default_policy_lifts_after_five_clean_days_with_negative_screening() -> None:
    rule = LiftingRule.from_policy(default_policy().risk_area)
    assert rule == FIVE_DAYS


def test_on_the_fourth_clean_day_the_lifting_is_not_yet_proposed() -> None:
    assert not due_on(4, infected_days=[0], negative_days=[1, 2, 3, 4])


def test_on_the_fifth_clean_day_with_a_negative_screening_the_lifting_is_proposed() -> None:
    assert due_on(5, infected_days=[0], negative_days=[1, 2, 3, 4, 5])


def test_a_positive_on_day_three_restarts_the_count() -> None:
    assert not due_on(5, infected_days=[0, 3], negative_days=[1, 2, 4, 5])
    assert not due_on(7, infected_days=[0, 3], negative_days=[1, 2, 4, 5, 6, 7])
    assert due_on(8, infected_days=[0, 3], negative_days=[1, 2, 4, 5, 6, 7, 8])


def test_a_day_without_a_complete_negative_round_is_not_clean_when_the_policy_asks() -> None:
    assert not due_on(5, infected_days=[0], negative_days=[1, 2, 4, 5])
    assert due_on(8, infected_days=[0], negative_days=[1, 2, 4, 5, 6, 7, 8])


def test_without_the_screening_requirement_days_without_infection_suffice() -> None:
    rule = LiftingRule(
        clean_days=5, requires_negative_screening=False, propose_on_surface_case=True
    )
    infected, _ = one_building([0], [], 6)
    result = lifting_countdown(
        infected=infected, negative=None, countable_from=np.array([0]), rule=rule
    )
    assert result.due.tolist() == [True]


def test_days_before_the_count_starts_never_count() -> None:
    # Screened negative for weeks before the designation: the count starts on the designation day.
    infected = np.zeros((1, 10), dtype=bool)
    negative = np.ones((1, 10), dtype=bool)
    for start, expected in ((5, True), (6, False), (0, True), (-30, True)):
        result = lifting_countdown(
            infected=infected, negative=negative, countable_from=np.array([start]), rule=FIVE_DAYS
        )
        assert bool(result.due[0]) is expected, start


def test_the_countdown_reports_the_streak_and_the_days_to_go() -> None:
    infected, negative = one_building([2], [0, 1, 3, 4, 5], 6)
    result = lifting_countdown(
        infected=infected, negative=negative, countable_from=np.array([0]), rule=FIVE_DAYS
    )
    assert (int(result.clean_streak[0]), int(result.days_to_go[0])) == (3, 2)


def test_many_buildings_are_evaluated_at_once() -> None:
    infected = np.zeros((3, 5), dtype=bool)
    infected[1, 2] = True
    negative = np.ones((3, 5), dtype=bool)
    negative[2, 4] = False
    result = lifting_countdown(
        infected=infected, negative=negative, countable_from=np.zeros(3, dtype=int), rule=FIVE_DAYS
    )
    assert result.due.tolist() == [True, False, False]
    assert result.clean_streak.tolist() == [5, 2, 0]


def test_the_window_must_hold_the_policys_clean_days() -> None:
    with pytest.raises(ValueError, match="infected: the window must hold at least 5 days"):
        lifting_countdown(
            infected=np.zeros((1, 4), dtype=bool),
            negative=np.ones((1, 4), dtype=bool),
            countable_from=np.array([0]),
            rule=FIVE_DAYS,
        )


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="negative: required"):
        clean_days(
            infected=np.zeros((1, 5), dtype=bool),
            negative=None,
            countable_from=np.array([0]),
            requires_negative_screening=True,
        )
    with pytest.raises(ValueError, match="negative: must have shape"):
        clean_days(
            infected=np.zeros((1, 5), dtype=bool),
            negative=np.ones((2, 5), dtype=bool),
            countable_from=np.array([0]),
            requires_negative_screening=True,
        )
    with pytest.raises(ValueError, match="infected: must be an array of booleans"):
        clean_days(
            infected=np.zeros((1, 5)),
            negative=None,
            countable_from=np.array([0]),
            requires_negative_screening=False,
        )
    with pytest.raises(ValueError, match="countable_from: must be an array of whole day offsets"):
        clean_days(
            infected=np.zeros((1, 5), dtype=bool),
            negative=None,
            countable_from=np.array([0.5]),
            requires_negative_screening=False,
        )
    with pytest.raises(ValueError, match="clean_days: must be at least 1"):
        LiftingRule(clean_days=0, requires_negative_screening=False, propose_on_surface_case=True)


def test_the_earliest_lifting_day_counts_what_is_still_needed() -> None:
    # Infection on day 0 (locked that day): seen from day 1, 3, 5 and 6.
    cases = [
        # (streak up to yesterday, count start from today, days from today)
        (0, -1, 4),  # day 1: clean days 1..5 → day 5
        (2, -3, 2),  # day 3 after two clean days → day 5
        (4, -5, 0),  # day 5 after four clean days → today
        (5, -6, 0),  # already due, awaiting approval → today
        (0, 0, 4),  # designated today → today + 4
        (0, 1, 5),  # lifting rejected today: the count starts tomorrow → today + 5
    ]
    offsets = earliest_lifting_offsets(
        streak_before=np.array([c[0] for c in cases]),
        countable_from=np.array([c[1] for c in cases]),
        rule=FIVE_DAYS,
    )
    assert offsets.tolist() == [c[2] for c in cases]


def test_a_surface_infection_proposes_its_building_unless_an_area_is_open() -> None:
    found = surface_proposals(
        surface_infection=np.array([True, True, False]),
        has_open_area=np.array([False, True, False]),
        rule=FIVE_DAYS,
    )
    assert found.tolist() == [True, False, False]
    off = LiftingRule(clean_days=5, requires_negative_screening=True, propose_on_surface_case=False)
    assert not surface_proposals(
        surface_infection=np.array([True]), has_open_area=np.array([False]), rule=off
    ).any()


def test_trailing_run_of_an_empty_window_is_zero() -> None:
    assert trailing_run(np.zeros((3, 0), dtype=bool)).tolist() == [0, 0, 0]


# --- the replay -------------------------------------------------------------------------------


def replay_one(
    surface_days: list[int], length: int, rule: LiftingRule = FIVE_DAYS, negative: bool = True
) -> list[tuple[int, int]]:
    infected = np.zeros((1, length), dtype=bool)
    infected[0, surface_days] = True
    result = replay(
        infected=infected,
        surface=infected.copy(),
        negative=np.full((1, length), negative),
        designated=np.zeros((1, length), dtype=bool),
        locked_at_start=np.zeros(1, dtype=bool),
        locked_since=np.zeros(1, dtype=int),
        countable_from=np.zeros(1, dtype=int),
        streak_at_start=np.zeros(1, dtype=int),
        rule=rule,
    )
    return list(zip(result.locked_on.tolist(), result.lifted_on.tolist(), strict=True))


def test_a_replayed_surface_case_locks_that_day_and_lifts_on_the_fifth_clean_day() -> None:
    assert replay_one([2], 20) == [(2, 7)]


def test_a_replayed_second_case_restarts_the_count_and_a_later_one_locks_again() -> None:
    assert replay_one([2, 4, 15], 20) == [(2, 9), (15, -1)]


def test_a_replay_without_negative_screening_never_lifts_when_the_policy_asks_for_it() -> None:
    assert replay_one([2], 20, negative=False) == [(2, -1)]


def test_a_replay_counts_the_locked_days_inside_the_period() -> None:
    infected = np.zeros((2, 10), dtype=bool)
    infected[0, 1] = True
    result = replay(
        infected=infected,
        surface=infected.copy(),
        negative=np.ones((2, 10), dtype=bool),
        designated=np.zeros((2, 10), dtype=bool),
        locked_at_start=np.array([False, True]),
        locked_since=np.array([0, -3]),
        countable_from=np.array([0, -3]),
        streak_at_start=np.array([0, 3]),
        rule=FIVE_DAYS,
    )
    # Building 0: locked days 1..5 (lifted on 6); building 1: carried 3 clean days, lifted on day 1.
    assert result.locked_days.tolist() == [5, 1]
    assert list(zip(result.building.tolist(), result.lifted_on.tolist(), strict=True)) == [
        (0, 6),
        (1, 1),
    ]


def test_a_building_carried_in_past_its_clean_days_is_lifted_on_the_first_day() -> None:
    result = replay(
        infected=np.zeros((1, 3), dtype=bool),
        surface=np.zeros((1, 3), dtype=bool),
        negative=np.ones((1, 3), dtype=bool),
        designated=np.zeros((1, 3), dtype=bool),
        locked_at_start=np.array([True]),
        locked_since=np.array([-9]),
        countable_from=np.array([-9]),
        streak_at_start=np.array([5]),
        rule=FIVE_DAYS,
    )
    assert (result.locked_on.tolist(), result.lifted_on.tolist()) == ([-9], [0])
    assert result.locked_days.tolist() == [0]


def test_a_hand_designation_locks_whatever_the_rule() -> None:
    off = LiftingRule(
        clean_days=2, requires_negative_screening=False, propose_on_surface_case=False
    )
    designated = np.zeros((1, 6), dtype=bool)
    designated[0, 1] = True
    result = replay(
        infected=np.zeros((1, 6), dtype=bool),
        surface=np.zeros((1, 6), dtype=bool),
        negative=None,
        designated=designated,
        locked_at_start=np.zeros(1, dtype=bool),
        locked_since=np.zeros(1, dtype=int),
        countable_from=np.zeros(1, dtype=int),
        streak_at_start=np.zeros(1, dtype=int),
        rule=off,
    )
    # The designation day is the first countable day: clean days 1 and 2, lifted on day 2.
    assert (result.locked_on.tolist(), result.lifted_on.tolist()) == ([1], [2])


# --- a slow obvious oracle --------------------------------------------------------------------


def oracle_streak(infected: list[bool], negative: list[bool], start: int, required: bool) -> int:
    streak = 0
    for day in range(len(infected) - 1, -1, -1):
        clean = not infected[day] and day >= start and (negative[day] or not required)
        if not clean:
            break
        streak += 1
    return streak


def oracle_replay(
    infected: list[bool], negative: list[bool], n: int, required: bool
) -> list[tuple[int, int]]:
    episodes: list[tuple[int, int]] = []
    locked_since: int | None = None
    streak = 0
    for day, found in enumerate(infected):
        if locked_since is None and found:
            locked_since, streak = day, 0
        if locked_since is not None:
            clean = not found and (negative[day] or not required)
            streak = streak + 1 if clean else 0
            if streak >= n:
                episodes.append((locked_since, day))
                locked_since, streak = None, 0
    if locked_since is not None:
        episodes.append((locked_since, -1))
    return episodes


histories = st.integers(min_value=1, max_value=6).flatmap(
    lambda rows: st.integers(min_value=5, max_value=25).flatmap(
        lambda days: st.tuples(
            hnp.arrays(bool, (rows, days), elements=st.booleans()),
            hnp.arrays(bool, (rows, days), elements=st.sampled_from([True, True, True, False])),
            hnp.arrays(np.int64, (rows,), elements=st.integers(-5, days + 2)),
        )
    )
)


@settings(max_examples=150)
@given(history=histories, required=st.booleans(), n=st.integers(1, 5))
def test_the_countdown_agrees_with_the_day_by_day_oracle(
    history: tuple[np.ndarray, np.ndarray, np.ndarray], required: bool, n: int
) -> None:
    infected, negative, starts = history
    rule = LiftingRule(
        clean_days=n, requires_negative_screening=required, propose_on_surface_case=True
    )
    result = lifting_countdown(
        infected=infected, negative=negative, countable_from=starts, rule=rule
    )
    for row in range(infected.shape[0]):
        expected = oracle_streak(
            infected[row].tolist(), negative[row].tolist(), int(starts[row]), required
        )
        assert int(result.clean_streak[row]) == expected
        assert bool(result.due[row]) is (expected >= n)


@settings(max_examples=150)
@given(history=histories, required=st.booleans(), n=st.integers(1, 5))
def test_the_replay_agrees_with_the_day_by_day_oracle(
    history: tuple[np.ndarray, np.ndarray, np.ndarray], required: bool, n: int
) -> None:
    infected, negative, _ = history
    rows, length = infected.shape
    rule = LiftingRule(
        clean_days=n, requires_negative_screening=required, propose_on_surface_case=True
    )
    result = replay(
        infected=infected,
        surface=infected.copy(),
        negative=negative,
        designated=np.zeros_like(infected),
        locked_at_start=np.zeros(rows, dtype=bool),
        locked_since=np.zeros(rows, dtype=np.int64),
        countable_from=np.zeros(rows, dtype=np.int64),
        streak_at_start=np.zeros(rows, dtype=np.int64),
        rule=rule,
    )
    for row in range(rows):
        expected = oracle_replay(infected[row].tolist(), negative[row].tolist(), n, required)
        mine = [
            (int(f), int(t))
            for b, f, t in zip(result.building, result.locked_on, result.lifted_on, strict=True)
            if b == row
        ]
        assert mine == expected
        locked = sum((t if t >= 0 else length) - f for f, t in expected)
        assert int(result.locked_days[row]) == locked
        # Never lifted before the policy's clean days have passed since the lock.
        assert all(t < 0 or t - f >= n for f, t in expected)
