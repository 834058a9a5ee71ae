"""Quarantine dates come from the policy, and a facility is never filled past its beds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.cases.quarantine.rules import (
    FacilityBeds,
    NoQuarantine,
    QuarantinePlan,
    ReleaseRefused,
    check_release,
    choose_facility,
    plan_quarantine,
)
from xietong.policy.loader import default_policy

START = date(2022, 11, 14)


def days(*offsets: int) -> tuple[date, ...]:
    return tuple(START + timedelta(days=o) for o in offsets)


def test_the_default_policy_gives_five_days_centralised_and_three_at_home() -> None:
    plan = plan_quarantine(default_policy().quarantine, starts_on=START)
    assert plan.starts_on == date(2022, 11, 14)
    assert plan.home_from == date(2022, 11, 19)
    assert plan.ends_on == date(2022, 11, 21)
    assert plan.bed_days == days(0, 1, 2, 3, 4)
    # Days 1, 2, 3, 5 of centralised quarantine and days 1, 3 at home.
    assert plan.test_days == days(0, 1, 2, 4, 5, 7)


def test_other_numbers_in_the_policy_give_other_dates() -> None:
    rules = default_policy().quarantine.model_copy(
        update={
            "centralised_quarantine_days": 7,
            "home_isolation_days": 3,
            "centralised_quarantine_test_days": (1, 3, 5, 7),
            "home_isolation_test_days": (3,),
        }
    )
    plan = plan_quarantine(rules, starts_on=START)
    assert (plan.home_from, plan.ends_on) == (START + timedelta(7), START + timedelta(9))
    assert plan.test_days == days(0, 2, 4, 6, 9)


def test_a_policy_with_no_quarantine_issues_no_plan() -> None:
    rules = default_policy().quarantine.model_copy(
        update={
            "centralised_quarantine_days": 0,
            "home_isolation_days": 0,
            "centralised_quarantine_test_days": (),
            "home_isolation_test_days": (),
        }
    )
    with pytest.raises(NoQuarantine):
        plan_quarantine(rules, starts_on=START)


PLAN = QuarantinePlan(START, START + timedelta(5), START + timedelta(7), days(0, 1, 2, 4, 5, 7))


def test_release_on_the_end_date_with_a_negative_test() -> None:
    """Accepted from the end date on, with a negative test on or after the last test day; the
    day before the end date is the first refused."""
    for test_day in (PLAN.last_test_day, PLAN.ends_on):
        accepted = check_release(
            PLAN, release_day=PLAN.ends_on, test_day=test_day, test_result="negative"
        )
        assert accepted is None
    with pytest.raises(ReleaseRefused, match="cannot be released earlier"):
        check_release(
            PLAN,
            release_day=PLAN.ends_on - timedelta(1),
            test_day=PLAN.last_test_day,
            test_result="negative",
        )


@pytest.mark.parametrize(
    ("release_offset", "test_offset", "result", "message"),
    [
        (7, 7, "positive", "negative test"),
        (6, 6, "negative", "cannot be released earlier"),
        (7, 6, "negative", "last test day"),
        (8, 9, "negative", "after the release"),
    ],
)
def test_a_release_is_refused_early_or_without_a_negative_test(
    release_offset: int, test_offset: int, result: str, message: str
) -> None:
    with pytest.raises(ReleaseRefused, match=message):
        check_release(
            PLAN,
            release_day=START + timedelta(release_offset),
            test_day=START + timedelta(test_offset),
            test_result=result,
        )


def test_the_first_facility_by_code_with_a_bed_every_day_is_chosen() -> None:
    facilities = [FacilityBeds(2, "B", 1), FacilityBeds(1, "A", 1)]
    stay = days(0, 1, 2)
    assert choose_facility(facilities, occupied={}, days=stay) == 1
    # A is full on one day of the stay: B takes the contact.
    assert choose_facility(facilities, occupied={(1, stay[1]): 1}, days=stay) == 2
    assert (
        choose_facility(facilities, occupied={(1, stay[1]): 1, (2, stay[2]): 1}, days=stay) is None
    )


def test_a_facility_closed_on_a_day_of_the_stay_is_not_chosen() -> None:
    closing = FacilityBeds(1, "A", 10, available_to=START + timedelta(1))
    assert choose_facility([closing], occupied={}, days=days(0, 1, 2)) is None
    assert choose_facility([closing], occupied={}, days=days(0, 1)) == 1


arrivals = st.lists(
    st.tuples(st.integers(0, 10), st.integers(1, 6)), min_size=1, max_size=60
)  # (start offset, days in a bed)


@settings(max_examples=200)
@given(
    beds=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    stays=arrivals,
)
def test_placing_arrivals_in_any_order_never_exceeds_any_facilitys_beds(
    beds: list[int], stays: list[tuple[int, int]]
) -> None:
    facilities = [FacilityBeds(i + 1, f"F{i}", b) for i, b in enumerate(beds)]
    occupied: dict[tuple[int, date], int] = {}
    placed = 0
    for start, length in stays:
        stay = days(*range(start, start + length))
        chosen = choose_facility(facilities, occupied=occupied, days=stay)
        if chosen is None:
            # Refused only when every facility is full on some day of the stay.
            assert all(any(occupied.get((f.id, d), 0) >= f.beds for d in stay) for f in facilities)
            continue
        placed += 1
        for day in stay:
            occupied[(chosen, day)] = occupied.get((chosen, day), 0) + 1
    capacity = {f.id: f.beds for f in facilities}
    assert all(count <= capacity[facility] for (facility, _), count in occupied.items())
    assert placed <= len(stays)
