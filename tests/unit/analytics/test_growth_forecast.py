"""The growth forecast: it continues a steady exponential, its trend fades, and no run ever
infects more people than a district still holds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.growth_forecast import GrowthModel, _fit, growth_ensemble


def test_a_steady_exponential_is_continued_with_its_growth_damped() -> None:
    days = np.arange(14)
    history = (1000 * np.exp(0.1 * days))[:, None]
    model = GrowthModel(damping=0.9, growth_sd=1e-6)

    runs = growth_ensemble(
        history, horizon_days=7, runs=2000, rng=np.random.default_rng(0), model=model
    )

    median = np.median(runs[:, :, 0], axis=0)
    # log level on the last day plus r (φ + φ² + … + φ^h)
    expected = (history[-1, 0] + 0.5) * np.exp(0.1 * np.cumsum(0.9 ** np.arange(1, 8))) - 0.5
    np.testing.assert_allclose(median, expected, rtol=0.02)


def test_equal_weights_fit_ordinary_least_squares() -> None:
    rng = np.random.default_rng(2)
    window = rng.poisson(300 * np.exp(0.08 * np.arange(7)), size=(3, 7)).T.astype(float)

    level, rate, rate_se, noise_sd = _fit(window, half_life_days=math.inf)

    t = np.arange(7.0)
    for d in range(3):
        fit = np.polyfit(t, np.log(window[:, d] + 0.5), 1, cov="unscaled")
        slope, intercept = fit[0]
        residuals = np.log(window[:, d] + 0.5) - (intercept + slope * t)
        variance = residuals @ residuals / 5
        assert rate[d] == pytest.approx(slope)
        assert level[d] == pytest.approx(intercept + slope * 6)
        assert rate_se[d] == pytest.approx(math.sqrt(variance * fit[1][0, 0]))
        assert noise_sd[d] == pytest.approx(math.sqrt(variance))


def test_a_turn_shows_in_the_weighted_growth_before_the_unweighted() -> None:
    # four days of growth at 0.3 a day, then three flat ones: the epidemic has turned
    logs = np.concatenate([0.3 * np.arange(4), np.full(3, 0.9)]) + np.log(1000.0)
    window = (np.exp(logs) - 0.5)[:, None]

    weighted = _fit(window, half_life_days=3.0)
    even = _fit(window, half_life_days=math.inf)

    assert 0 < weighted[1][0] < even[1][0]
    assert abs(weighted[0][0] - logs[-1]) < abs(even[0][0] - logs[-1])


def test_a_half_life_too_short_for_a_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="half_life_days"):
        GrowthModel(window_days=3, half_life_days=0.5)


def test_the_band_widens_with_the_horizon() -> None:
    rng = np.random.default_rng(4)
    history = rng.poisson(500 * np.exp(0.05 * np.arange(21)))[:, None].astype(float)

    runs = growth_ensemble(history, horizon_days=14, runs=2000, rng=rng)

    log_runs = np.log1p(runs[:, :, 0])
    width = np.quantile(log_runs, 0.95, axis=0) - np.quantile(log_runs, 0.05, axis=0)
    assert width[13] > width[6] > width[0]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    growth=st.floats(0.0, 0.5),
    start=st.floats(1.0, 5000.0),
    susceptible=st.floats(0.0, 20000.0),
)
def test_forecasts_never_exceed_the_susceptibles(
    seed: int, growth: float, start: float, susceptible: float
) -> None:
    rng = np.random.default_rng(seed)
    history = rng.poisson(start * np.exp(growth * np.arange(10)))[:, None].astype(float)

    runs = growth_ensemble(
        history, horizon_days=28, runs=50, rng=rng, susceptible=np.array([susceptible])
    )

    assert np.all(runs >= 0)
    assert np.all(runs.sum(axis=1) <= susceptible + 1e-9)


def test_a_short_history_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="history: expected shape"):
        growth_ensemble(np.ones((3, 2)), horizon_days=7, runs=10, rng=np.random.default_rng(0))
