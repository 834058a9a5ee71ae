"""Arrivals who keep their place for days: a bed given today is gone for the whole stay, and a
plan over days never puts a district above its capacity nor serves fewer than staying at home."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.mutual_aid.plans.allocation import MutualAidProblem, plan_mutual_aid
from xietong.mutual_aid.plans.placement import StayProblem, keep_at_home, place_arrivals
from xietong.resources.vocabulary import CENTRALISED_QUARANTINE_BED, LAB_TUBE

DAY = date(2022, 11, 14)
FloatArray = npt.NDArray[np.float64]


def days(n: int) -> tuple[date, ...]:
    return tuple(DAY + timedelta(days=k) for k in range(n))


def beds(
    *, arrivals: list[list[float]], free: list[list[float]], stay: int, km: FloatArray
) -> StayProblem:
    n_t = len(arrivals[0])
    return StayProblem(
        district_codes=tuple("ABCDEF"[: len(arrivals)]),
        resources=(CENTRALISED_QUARANTINE_BED,),
        days=days(n_t),
        arrivals=np.array([arrivals], dtype=float),
        free_capacity=np.array([free], dtype=float),
        stay_days=(stay,),
        distance_km=km,
    )


TWO = np.array([[0.0, 20.0], [20.0, 0.0]])


def test_a_bed_given_on_the_first_day_is_taken_for_the_whole_stay() -> None:
    # A has no bed; B has 10. A's 10 contacts of day 1 take B's beds for 3 days, so A's
    # contacts of day 2 find none; B's beds are free again on day 4.
    problem = beds(
        arrivals=[[10, 10, 0, 10], [0, 0, 0, 0]],
        free=[[0] * 6, [10] * 6],
        stay=3,
        km=TWO,
    )
    plan = place_arrivals(problem)
    assert [(t.from_code, t.to_code, t.day, t.amount) for t in plan.transfers] == [
        ("A", "B", DAY, 10.0),
        ("A", "B", DAY + timedelta(days=3), 10.0),
    ]
    assert plan.shortage[0, 0].tolist() == [0, 10, 0, 0]
    assert plan.placed_occupancy[0, 1].tolist() == [10, 10, 10, 10, 10, 10]


def test_an_arrival_needs_a_bed_free_on_every_day_of_its_stay() -> None:
    # B has 10 beds today and tomorrow but only 2 the day after: a 3-day stay fits 2.
    problem = beds(arrivals=[[10], [0]], free=[[0, 0, 0], [10, 10, 2]], stay=3, km=TWO)
    plan = place_arrivals(problem)
    assert plan.received[0, 1, 0] == 2
    assert plan.shortage[0, 0, 0] == 8


def test_a_site_already_over_full_offers_no_bed() -> None:
    problem = beds(arrivals=[[0], [5]], free=[[0], [-3]], stay=1, km=TWO)
    assert place_arrivals(problem).shortage[0, 1, 0] == 5


def test_staying_home_is_preferred_when_there_is_room() -> None:
    problem = beds(arrivals=[[4], [4]], free=[[5], [5]], stay=1, km=TWO)
    assert place_arrivals(problem).transfers == ()


def test_days_must_be_consecutive() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        StayProblem(
            district_codes=("A",),
            resources=(LAB_TUBE,),
            days=(DAY, DAY + timedelta(days=2)),
            arrivals=np.zeros((1, 1, 2)),
            free_capacity=np.zeros((1, 1, 2)),
            stay_days=(1,),
            distance_km=np.zeros((1, 1)),
        )


def test_free_capacity_must_cover_the_longest_stay() -> None:
    with pytest.raises(ValueError, match="free_capacity"):
        beds(arrivals=[[1], [0]], free=[[1], [1]], stay=5, km=TWO)


def test_arrivals_are_whole_persons() -> None:
    with pytest.raises(ValueError, match="whole"):
        beds(arrivals=[[1.5], [0]], free=[[1], [1]], stay=1, km=TWO)


@st.composite
def instances(draw: st.DrawFn) -> StayProblem:
    n_d = draw(st.integers(2, 4))
    n_t = draw(st.integers(1, 4))
    stays = (draw(st.integers(1, 4)), 1)
    extra = max(stays) - 1
    counts = st.integers(0, 12)
    arrivals = np.array(
        draw(st.lists(counts, min_size=2 * n_d * n_t, max_size=2 * n_d * n_t)), dtype=float
    ).reshape(2, n_d, n_t)
    free = np.array(
        draw(
            st.lists(
                st.integers(-2, 15),
                min_size=2 * n_d * (n_t + extra),
                max_size=2 * n_d * (n_t + extra),
            )
        ),
        dtype=float,
    ).reshape(2, n_d, n_t + extra)
    position = np.array(draw(st.lists(st.integers(0, 60), min_size=n_d, max_size=n_d)), float)
    km = np.abs(position[:, None] - position[None, :]) + 1.0
    np.fill_diagonal(km, 0.0)
    return StayProblem(
        district_codes=tuple("ABCD"[:n_d]),
        resources=(CENTRALISED_QUARANTINE_BED, LAB_TUBE),
        days=days(n_t),
        arrivals=arrivals,
        free_capacity=free,
        stay_days=stays,
        distance_km=km,
        max_travel_km=draw(st.sampled_from([math.inf, 30.0])),
    )


@settings(max_examples=150)
@given(instances())
def test_no_district_is_ever_planned_above_its_free_capacity(problem: StayProblem) -> None:
    plan = place_arrivals(problem)
    assert np.all(plan.placed_occupancy <= problem.free_capacity + 1e-9)


@settings(max_examples=150)
@given(instances())
def test_every_arrival_is_kept_sent_or_short_and_what_is_sent_is_received(
    problem: StayProblem,
) -> None:
    plan = place_arrivals(problem)
    assert np.array_equal(plan.kept_at_home + plan.sent + plan.shortage, problem.arrivals)
    assert np.array_equal(plan.sent.sum(axis=1), plan.received.sum(axis=1))
    assert plan.total_transferred == pytest.approx(plan.sent.sum())
    assert all(t.amount == int(t.amount) > 0 for t in plan.transfers)


@settings(max_examples=200)
@given(instances())
def test_mutual_aid_never_serves_fewer_than_every_district_keeping_to_itself(
    problem: StayProblem,
) -> None:
    assert place_arrivals(problem).total_unmet <= keep_at_home(problem).sum() + 1e-9


@settings(max_examples=100)
@given(instances())
def test_with_one_day_stays_the_plan_is_the_lp_optimum_over_all_days_at_once(
    problem: StayProblem,
) -> None:
    # Tubes are used once: each day is the same transportation problem as planning all days.
    n_t = len(problem.days)
    tubes = plan_mutual_aid(
        MutualAidProblem(
            district_codes=problem.district_codes,
            resources=(LAB_TUBE,),
            days=problem.days,
            demand=problem.arrivals[1:],
            capacity=problem.free_capacity[1:, :, :n_t],
            distance_km=problem.distance_km,
            max_travel_km=problem.max_travel_km
            if np.ndim(problem.max_travel_km) == 0
            else np.asarray(problem.max_travel_km)[1:],
        )
    )
    plan = place_arrivals(problem)
    assert plan.shortage[1].sum() == tubes.total_unmet
    assert np.array_equal(plan.shortage[1].sum(axis=0), tubes.shortage[0].sum(axis=0))
