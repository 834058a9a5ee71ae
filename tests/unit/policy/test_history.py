"""The policy history: the rules in force on any past day, one policy a day, one day a version."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.policy.history import (
    NoPolicyInForce,
    PolicyHistory,
    PolicyHistoryConflict,
    PolicyVersion,
)
from xietong.policy.loader import bundled_policy, default_policy, override_policy
from xietong.policy.rules import Policy

TWENTY_MEASURES = date(2022, 11, 11)
WIND_DOWN_RULES = date(2022, 11, 21)


def version_of(name: str, effective_from: date, **changes: object) -> Policy:
    return override_policy(
        default_policy(),
        {"version": name, "effective_from": effective_from, **changes},
    )


def chongqing_november() -> PolicyHistory:
    return PolicyHistory([bundled_policy("wind_down_2022-11-21"), default_policy()])


def test_the_policy_in_force_on_a_past_day_is_the_latest_that_had_taken_effect() -> None:
    history = chongqing_november()
    assert history.in_force_on(date(2022, 11, 14)).version == "2022-11-11"
    assert history.in_force_on(date(2022, 11, 20)).screening.mode == "by_area_status"
    assert history.in_force_on(date(2023, 1, 8)).screening.mode == "wind_down"


def test_a_policy_is_in_force_on_the_day_it_takes_effect() -> None:
    history = chongqing_november()
    assert history.in_force_on(WIND_DOWN_RULES).version == "2022-11-21-wind-down"
    assert history.effective_from_of(WIND_DOWN_RULES + timedelta(days=3)) == WIND_DOWN_RULES


def test_before_the_first_policy_there_is_none_and_the_error_says_when_it_starts() -> None:
    with pytest.raises(NoPolicyInForce, match=r"2022-11-10.*'2022-11-11'.*2022-11-11"):
        chongqing_november().in_force_on(date(2022, 11, 10))


def test_an_empty_history_has_no_policy_in_force() -> None:
    with pytest.raises(NoPolicyInForce, match="empty"):
        PolicyHistory().in_force_on(TWENTY_MEASURES)


def test_two_policies_cannot_take_effect_on_the_same_day() -> None:
    history = chongqing_november()
    with pytest.raises(PolicyHistoryConflict, match="'2022-11-11' already takes effect"):
        history.add(version_of("2022-11-11b", TWENTY_MEASURES))
    assert len(history) == 2


def test_a_version_cannot_be_entered_twice() -> None:
    history = chongqing_november()
    with pytest.raises(PolicyHistoryConflict, match="a changed policy needs a new version"):
        history.add(
            version_of("2022-11-11", date(2022, 12, 1), **{"cluster.inactive_after_days": 7})
        )


def test_the_day_of_entry_may_differ_from_the_date_in_the_file() -> None:
    # The city adopts the national measures a few days after they were published.
    history = PolicyHistory()
    history.add(default_policy(), effective_from=date(2022, 11, 15))
    with pytest.raises(NoPolicyInForce):
        history.in_force_on(date(2022, 11, 14))
    assert history.in_force_on(date(2022, 11, 15)) is default_policy()


def test_the_versions_are_listed_oldest_first_whatever_the_order_of_entry() -> None:
    history = PolicyHistory()
    history.add(version_of("2022-12-07", date(2022, 12, 7)))
    history.add(default_policy())
    history.add(bundled_policy("wind_down_2022-11-21"))
    assert [entry.version for entry in history.as_of_versions()] == [
        "2022-11-11",
        "2022-11-21-wind-down",
        "2022-12-07",
    ]
    assert history.as_of_versions()[0] == PolicyVersion(
        effective_from=TWENTY_MEASURES, version="2022-11-11", name=default_policy().name
    )
    assert history.latest.version == "2022-12-07"


def test_a_period_is_split_where_the_policy_changed() -> None:
    periods = chongqing_november().periods(
        first_day=date(2022, 11, 15), last_day=date(2022, 11, 30)
    )
    assert [(p.first_day, p.last_day, p.policy.version) for p in periods] == [
        (date(2022, 11, 15), date(2022, 11, 20), "2022-11-11"),
        (date(2022, 11, 21), date(2022, 11, 30), "2022-11-21-wind-down"),
    ]
    assert sum(period.days for period in periods) == 16


def test_a_period_that_ends_before_it_begins_is_refused() -> None:
    with pytest.raises(ValueError, match="last_day"):
        chongqing_november().periods(first_day=date(2022, 11, 30), last_day=date(2022, 11, 15))


def test_a_version_can_be_looked_up_by_name() -> None:
    history = chongqing_november()
    assert history.version("2022-11-11") is default_policy()
    with pytest.raises(KeyError, match="no policy '2022-11-12'"):
        history.version("2022-11-12")


@given(
    offsets=st.sets(st.integers(min_value=0, max_value=60), min_size=1, max_size=6),
    asked=st.integers(min_value=-5, max_value=70),
)
def test_the_policy_in_force_is_the_one_with_the_latest_start_not_after_the_day(
    offsets: set[int], asked: int
) -> None:
    starts = {TWENTY_MEASURES + timedelta(days=offset): f"v{offset}" for offset in offsets}
    history = PolicyHistory()
    for start, name in starts.items():
        history.add(override_policy(default_policy(), {"version": name}), effective_from=start)
    day = TWENTY_MEASURES + timedelta(days=asked)
    begun = [start for start in starts if start <= day]
    if not begun:
        with pytest.raises(NoPolicyInForce):
            history.in_force_on(day)
    else:
        assert history.in_force_on(day).version == starts[max(begun)]
