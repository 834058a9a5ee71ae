"""The growth forecast: it continues a steady exponential, its trend fades into a slow decline,
and no run ever infects more people than a district still holds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.growth_forecast import (
    GrowthModel,
    _fit,
    growth_ensemble,
    own_growth_weights,
    pooled_rates,
)


def test_a_steady_exponential_is_continued_with_its_growth_damped() -> None:
    days = np.arange(14)
    history = (1000 * np.exp(0.1 * days))[:, None]
    model = GrowthModel(damping=0.9, long_run_rate=-0.02, growth_sd=1e-6)

    runs = growth_ensemble(
        history, horizon_days=7, runs=2000, rng=np.random.default_rng(0), model=model
    )

    median = np.median(runs[:, :, 0], axis=0)
    # log level on the last day plus r_1 + … + r_h, r_k = μ + φ^k (r − μ)
    rates = -0.02 + 0.9 ** np.arange(1, 8) * (0.1 + 0.02)
    expected = (history[-1, 0] + 0.5) * np.exp(np.cumsum(rates)) - 0.5
    np.testing.assert_allclose(median, expected, rtol=0.02)


def test_a_flat_series_declines_slowly_and_stays_flat_without_a_long_run_decline() -> None:
    history = np.full((14, 1), 1000.0)

    def median_after(days: int, model: GrowthModel) -> float:
        runs = growth_ensemble(
            history, horizon_days=days, runs=2000, rng=np.random.default_rng(1), model=model
        )
        return float(np.median(runs[:, -1, 0]))

    # the default reverts to a decline of μ = 2 % a day from a rate of 0: r_k = μ (1 − φ^k), so
    # 28 days later the log level is μ (28 − φ (1 − φ^28) / (1 − φ)) lower
    phi = GrowthModel().damping
    drift = -0.02 * (28 - phi * (1 - phi**28) / (1 - phi))
    assert median_after(28, GrowthModel(growth_sd=1e-6)) == pytest.approx(
        1000.5 * math.exp(drift) - 0.5, rel=0.02
    )
    assert median_after(28, GrowthModel(long_run_rate=0.0, growth_sd=1e-6)) == pytest.approx(
        1000.0, rel=0.02
    )


def test_a_long_run_rate_beyond_any_outbreak_of_record_is_refused() -> None:
    with pytest.raises(ValueError, match="long_run_rate"):
        GrowthModel(long_run_rate=-0.8)


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


def test_a_noisy_districts_rate_leans_on_the_citys_and_a_precise_one_keeps_its_own() -> None:
    rate = np.array([0.10, 0.30, -0.20, 0.05])
    rate_se = np.array([0.005, 0.30, 0.30, 0.02])

    pooled, pooled_se, _ = pooled_rates(
        rate, rate_se, total_rate=0.08, total_se=0.01, min_spread=0.05
    )

    assert pooled[0] == pytest.approx(0.10, abs=0.001)  # measured to ±0.005: its own
    # measured to ±0.3: most of the way to the city's 0.08, from either side, never onto it
    assert abs(pooled[1] - 0.08) < 0.25 * abs(rate[1] - 0.08)
    assert abs(pooled[2] - 0.08) < 0.25 * abs(rate[2] - 0.08)
    assert np.all(pooled != 0.08)
    assert np.all(pooled_se <= rate_se)
    assert pooled_se[0] == pytest.approx(0.005, rel=0.01)


def test_districts_whose_rates_differ_beyond_their_errors_keep_them() -> None:
    rate = np.array([-0.3, -0.1, 0.1, 0.3])
    rate_se = np.full(4, 0.02)  # the spread, 0.22, is ten times what the errors explain

    pooled = pooled_rates(rate, rate_se, total_rate=0.0, total_se=0.01, min_spread=0.05).rate

    np.testing.assert_allclose(pooled, rate, atol=0.003)


def test_a_small_noisy_district_forecast_beside_others_follows_their_growth() -> None:
    rng = np.random.default_rng(6)
    days = np.arange(14)
    large = rng.poisson(2000 * np.exp(0.1 * days), size=(3, 14)).T.astype(float)
    # a district of a few cases a day whose last week happens to fall: its own rate is about
    # −0.1 a day, measured to ±0.1; the three large districts grow at 0.1 a day, measured to
    # ±0.005
    small = np.array([12, 6, 14, 5, 11, 4, 9, 13, 5, 12, 4, 10, 3, 6], dtype=float)[:, None]
    history = np.hstack([large, small])

    def mean_in_14_days(model: GrowthModel, counts: np.ndarray) -> float:
        runs = growth_ensemble(
            counts, horizon_days=14, runs=4000, rng=np.random.default_rng(7), model=model
        )
        return float(runs[:, -1, -1].mean())

    alone = mean_in_14_days(GrowthModel(), small)
    together = mean_in_14_days(GrowthModel(), history)
    unpooled = mean_in_14_days(GrowthModel(pooled=False), history)

    assert unpooled == pytest.approx(alone, rel=0.05)
    assert together > 1.3 * alone
    # and what the page shows of it: the large districts' own growth weighs nearly all, the
    # small one's under half
    weights = own_growth_weights(history)
    assert np.all(weights[:3] > 0.9)
    assert weights[3] < 0.5
    np.testing.assert_array_equal(own_growth_weights(small), [1.0])
