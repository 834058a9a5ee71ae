"""The forecast read on the day is the one the backtests score: the same quantiles from the same
history and seed, recalibrated by the misses of the forecasts from the earlier days only."""

from __future__ import annotations

import numpy as np
import pytest

from xietong.analytics.core.backtest import run_backtest
from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS


def _waves(days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(days)[:, None]
    log_mean = np.log([200.0, 30.0, 900.0]) - np.where(t < 25, 0.12 * (25 - t), 0.06 * (t - 25))
    return rng.poisson(np.exp(log_mean)).astype(np.float64)


@pytest.mark.parametrize("origin", [20, 33])
def test_the_quantiles_of_the_day_are_the_backtests_forecast_from_that_day(origin: int) -> None:
    series = _waves(60, seed=7)
    backtest = run_backtest(
        series, origins=[origin], horizons=(7, 14), rng=np.random.default_rng(3), runs=100
    )
    today = recalibrated_quantiles(
        series[: origin + 1], horizon_days=14, rng=np.random.default_rng(3), runs=100
    )
    np.testing.assert_allclose(today[[6, 13]], backtest.quantiles[0, 0], rtol=1e-12)


def test_what_came_after_the_last_day_changes_nothing() -> None:
    series = _waves(50, seed=11)
    before = recalibrated_quantiles(series[:30], horizon_days=7, rng=np.random.default_rng(1))
    other = series.copy()
    other[30:] *= 5.0
    after = recalibrated_quantiles(other[:30], horizon_days=7, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(before, after)


def test_the_band_differs_from_the_models_own_once_misses_are_known() -> None:
    series = _waves(40, seed=5)
    short = recalibrated_quantiles(series[:7], horizon_days=7, rng=np.random.default_rng(2))
    tuned = recalibrated_quantiles(series[:30], horizon_days=7, rng=np.random.default_rng(2))
    assert short.shape == (7, 3, len(HUB_QUANTILE_LEVELS))
    assert np.all(np.diff(tuned, axis=-1) >= 0) and np.all(tuned >= 0)
    # Seven days: one forecast date, no miss to learn from; thirty: the band was recalibrated.
    assert not np.array_equal(
        tuned,
        recalibrated_quantiles(
            series[:30], horizon_days=7, rng=np.random.default_rng(2), lookback_days=1
        ),
    )


def test_a_history_shorter_than_the_window_is_refused() -> None:
    with pytest.raises(ValueError, match="history"):
        recalibrated_quantiles(np.ones((5, 2)), horizon_days=7, rng=np.random.default_rng(0))
