"""The susceptibles cap of the forecast (`analytics.core.susceptibles`): one convention for the
pages and the mutual-aid demand, and no quantile above it."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.susceptibles import capped, susceptibles_left
from xietong.analytics.expected import HISTORY_DAYS, ExpectedInputs, expected_forecast
from xietong.mutual_aid.outlook.demand import project_new_cases

LAST_DAY = date(2022, 11, 13)


def test_a_district_holds_its_population_less_the_infections_read_and_the_city_their_sum() -> None:
    infections = np.array([[3.0, 1.0, 50.0, 0.0], [4.0, 2.0, 60.0, 9.0]])
    population = np.array([100.0, np.nan, 80.0, 0.0])

    left = susceptibles_left(population, infections=infections)

    # A zone without a census population (NaN, or none recorded: 0) has no cap; a district the
    # outbreak has exhausted holds none, never fewer than none.
    assert left.districts.tolist() == [93.0, np.inf, 0.0, np.inf]
    assert left.city == 93.0
    assert not left.districts.flags.writeable


def test_without_any_population_the_city_has_no_cap() -> None:
    left = susceptibles_left(np.full(2, np.nan), infections=np.ones((5, 2)))
    assert left.city == np.inf and np.all(np.isinf(left.districts))


@pytest.mark.parametrize(
    ("population", "infections", "message"),
    [
        (np.ones(3), np.ones((4, 2)), "population"),
        (np.ones(2), -np.ones((4, 2)), "infections"),
        (np.ones(2), np.ones(4), "infections"),
    ],
)
def test_inputs_of_the_wrong_shape_or_sign_are_refused(
    population: np.ndarray, infections: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        susceptibles_left(population, infections=infections)


def test_a_cap_of_the_wrong_length_or_a_nan_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="susceptible"):
        capped(np.ones((3, 2, 5)), susceptible=np.ones(3))
    with pytest.raises(ValueError, match="susceptible"):
        capped(np.ones((3, 2)), susceptible=np.array([1.0, np.nan]))


@settings(max_examples=25, deadline=None)
@given(
    start=st.lists(st.integers(0, 80), min_size=3, max_size=3),
    growth=st.lists(st.floats(-0.2, 0.4), min_size=3, max_size=3),
    population=st.lists(st.one_of(st.integers(1, 4000), st.just(0)), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_no_quantile_exceeds_the_susceptibles(
    start: list[int], growth: list[float], population: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(HISTORY_DAYS)[:, None]
    counts = rng.poisson(np.array(start) * np.exp(np.array(growth) * t)).astype(np.float64)
    left = susceptibles_left(np.array(population, dtype=np.float64), infections=counts)
    forecast = recalibrated_quantiles(counts, horizon_days=14, rng=rng, runs=40)

    districts = capped(forecast, susceptible=left.districts)
    city = capped(
        recalibrated_quantiles(
            counts.sum(axis=1, keepdims=True), horizon_days=14, rng=rng, runs=40
        ),
        susceptible=np.array([left.city]),
    )

    assert np.all(districts <= left.districts[np.newaxis, :, np.newaxis])
    assert np.all(city <= left.city)
    assert np.all(np.diff(districts, axis=-1) >= 0)  # still ordered along the levels
    # Where there is no cap, the forecast is left as it is.
    free = np.isinf(left.districts)
    assert np.array_equal(districts[:, free], forecast[:, free])


def test_the_pages_and_the_demand_cap_a_district_at_the_same_number() -> None:
    # A growing district whose census population the forecast would pass, and a zone without one.
    counts = np.vstack([np.round(20 * np.exp(0.12 * np.arange(HISTORY_DAYS))), np.full(28, 4.0)]).T
    population = np.array([counts[:, 0].sum() + 40.0, np.nan])
    page = expected_forecast(
        ExpectedInputs(
            last_day=LAST_DAY,
            days=tuple(LAST_DAY - timedelta(days=k) for k in range(HISTORY_DAYS - 1, -1, -1)),
            codes=("500106", "500112"),
            names=("沙坪坝区", "两江新区"),
            counts=counts,
            population=population,
            series="nowcast",
        )
    )
    demand = project_new_cases(counts.T, horizon_days=14, population=population, quantile=0.95)

    assert page.districts[0].susceptible == 40.0 and page.districts[1].susceptible is None
    assert page.city_susceptible == 40.0
    assert max(page.districts[0].infections.p95) == 40.0  # the cap binds on the page
    assert demand.new_cases[0].max() == 40.0  # and on the demand, at the same number
