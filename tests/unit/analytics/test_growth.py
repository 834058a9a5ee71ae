"""Growth rate, doubling and halving times: what a log-linear fit must recover."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.distributions import omicron_serial_interval
from xietong.analytics.core.growth import estimate_growth_rate
from xietong.analytics.core.rt import estimate_rt


@settings(max_examples=50)
@given(rate=st.floats(-0.4, 0.4), middle=st.floats(5e4, 5e5), window=st.integers(3, 14))
def test_a_constant_exponential_growth_recovers_its_rate(
    rate: float, middle: float, window: int
) -> None:
    # log(y + 0.5) - log y ≈ 0.5 / y, whose slope biases r by about r · 0.5 / y: with every
    # day above 900 cases (5e4 · e^-4), r is off by less than 3e-4.
    days = np.arange(21) - 10
    incidence = middle * np.exp(rate * days)

    growth = estimate_growth_rate(incidence, window_days=window)

    np.testing.assert_allclose(growth.rate, rate, atol=1e-3)
    assert np.all(growth.rate_lower <= growth.rate)
    assert np.all(growth.rate <= growth.rate_upper)


def test_doubling_time_is_ln2_over_the_rate_when_cases_grow() -> None:
    incidence = 1_000 * np.exp(0.1 * np.arange(21))

    growth = estimate_growth_rate(incidence)

    np.testing.assert_allclose(growth.doubling_time, math.log(2) / 0.1, rtol=1e-3)
    assert np.all(np.isnan(growth.halving_time))


def test_halving_time_is_ln2_over_minus_the_rate_when_cases_fall() -> None:
    incidence = 10_000 * np.exp(-0.2 * np.arange(21))

    growth = estimate_growth_rate(incidence)

    np.testing.assert_allclose(growth.halving_time, math.log(2) / 0.2, rtol=1e-2)
    assert np.all(np.isnan(growth.doubling_time))


def test_doubling_time_interval_is_unbounded_when_the_rate_interval_reaches_zero() -> None:
    incidence = np.array([100, 140, 90, 130, 110, 150, 120], dtype=float)

    growth = estimate_growth_rate(incidence)

    assert growth.rate[0, 0] > 0 > growth.rate_lower[0, 0]
    assert growth.doubling_time_upper[0, 0] == math.inf
    assert growth.doubling_time_lower[0, 0] < growth.doubling_time[0, 0]


def test_a_constant_series_has_rate_zero_and_rt_near_one() -> None:
    incidence = np.full(40, 800.0)

    growth = estimate_growth_rate(incidence)
    rt = estimate_rt(incidence, serial_interval=omicron_serial_interval())

    np.testing.assert_array_equal(growth.rate, 0.0)
    assert np.all(growth.rate_lower <= 0)
    assert np.all(growth.rate_upper >= 0)
    settled = rt.t_end > 21  # after the serial interval's 20 days, Λ_t = I exactly
    np.testing.assert_allclose(rt.mean[0, settled], 1.0, atol=1e-3)
    assert np.all(rt.lower[0, settled] < 1)
    assert np.all(rt.upper[0, settled] > 1)


def test_windows_are_labelled_by_their_last_day() -> None:
    growth = estimate_growth_rate(np.arange(1, 11, dtype=float), window_days=7)

    assert growth.t_start.tolist() == [1, 2, 3, 4]
    assert growth.t_end.tolist() == [7, 8, 9, 10]
    assert growth.rate.shape == (1, 4)


def test_the_interval_covers_the_true_rate_of_a_noisy_epidemic_in_most_windows() -> None:
    rng = np.random.default_rng(20221113)
    true_rate = 0.15
    incidence = rng.poisson(50 * np.exp(true_rate * np.arange(40)), size=(20, 40))

    growth = estimate_growth_rate(incidence, confidence=0.95)

    covered = (growth.rate_lower <= true_rate) & (true_rate <= growth.rate_upper)
    assert covered.mean() > 0.85


def test_many_districts_at_once_equal_one_district_at_a_time() -> None:
    rng = np.random.default_rng(7)
    incidence = rng.poisson(rng.uniform(0, 300, size=(5, 1)), size=(5, 30))

    together = estimate_growth_rate(incidence)

    for district, row in enumerate(incidence):
        alone = estimate_growth_rate(row)
        np.testing.assert_allclose(together.rate[district], alone.rate[0], rtol=1e-12)
        np.testing.assert_allclose(
            together.rate_upper[district], alone.rate_upper[0], rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_days": 2}, "window_days"),
        ({"window_days": 40}, "window_days"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_growth_rate(np.ones(20), **kwargs)


def test_negative_counts_are_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="incidence must be non-negative"):
        estimate_growth_rate([1.0, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0])
