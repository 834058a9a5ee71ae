"""The persistence and forecast-hub baselines: median at the last value, spread from past changes
with no trend, never below zero."""

from __future__ import annotations

import numpy as np
import pytest

from xietong.analytics.core.baselines import hub_baseline_quantiles, persistence_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS

LEVELS = np.asarray(HUB_QUANTILE_LEVELS)
MEDIAN = LEVELS.size // 2


def test_persistence_repeats_the_last_value_at_every_level_and_horizon() -> None:
    history = np.array([[1.0, 5.0], [3.0, 7.0], [2.0, 9.0]])

    q = persistence_quantiles(history, horizon_days=4, levels=LEVELS)

    assert q.shape == (4, 2, LEVELS.size)
    np.testing.assert_array_equal(q[:, 0], 2.0)
    np.testing.assert_array_equal(q[:, 1], 9.0)


def test_the_hub_baseline_is_centred_on_the_last_value_and_widens_with_the_horizon() -> None:
    rng = np.random.default_rng(3)
    history = rng.poisson(200, size=(40, 3)).astype(float)

    q = hub_baseline_quantiles(history, horizon_days=14, levels=LEVELS, rng=rng)

    np.testing.assert_array_equal(q[:, :, MEDIAN], np.broadcast_to(history[-1], (14, 3)))
    width = q[:, :, -3] - q[:, :, 2]  # 95 % minus 5 %
    assert np.all(width[13] > width[0])
    assert np.all(np.diff(q, axis=-1) >= 0)


def test_the_hub_baseline_spread_has_no_trend_even_when_the_series_grows() -> None:
    history = (100 * 1.1 ** np.arange(30))[:, None]

    q = hub_baseline_quantiles(history, horizon_days=7, levels=LEVELS, rng=np.random.default_rng(0))

    last = history[-1, 0]
    upper, lower = q[-1, 0, 20] - last, last - q[-1, 0, 2]  # 95 % and 5 % a week ahead
    # Symmetric about the last value, within the error of sampling from 58 changes.
    assert upper == pytest.approx(lower, rel=0.25)
    assert upper > 100


def test_the_hub_baseline_is_floored_at_zero() -> None:
    history = np.array([[0.0], [50.0], [0.0], [40.0], [1.0]])

    q = hub_baseline_quantiles(history, horizon_days=5, levels=LEVELS, rng=np.random.default_rng(1))

    assert q.min() == 0.0


def test_a_history_of_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="history: the baseline needs at least 2 days"):
        hub_baseline_quantiles(
            np.ones((1, 2)), horizon_days=3, levels=LEVELS, rng=np.random.default_rng(0)
        )
