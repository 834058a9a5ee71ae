"""Proper scores of quantile forecasts against the `scoringrules` library on random inputs, and
against the interval form of the weighted interval score written out in the test."""

from __future__ import annotations

import numpy as np
import pytest
import scoringrules
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.scores import (
    HUB_QUANTILE_LEVELS,
    interval_coverage,
    log_scale,
    median_absolute_error,
    weighted_interval_score,
)

LEVELS = np.asarray(HUB_QUANTILE_LEVELS)


def _random_forecasts(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = rng.lognormal(3.0, 2.0, size=n)
    spread = rng.lognormal(0.0, 1.0, size=n)
    offsets = np.sort(rng.normal(0.0, 1.0, size=(n, LEVELS.size)), axis=1)
    quantiles = np.clip(centre[:, None] + spread[:, None] * centre[:, None] * offsets, 0, None)
    observed = rng.poisson(centre * rng.lognormal(0.0, 0.7, size=n)).astype(float)
    return np.sort(quantiles, axis=1), observed


def _as_intervals(quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = LEVELS.size // 2
    alpha = 2 * LEVELS[:k]
    return quantiles[:, k], quantiles[:, :k], quantiles[:, k + 1 :][:, ::-1], alpha


def test_the_hub_levels_are_the_23_of_the_forecast_hubs() -> None:
    assert len(HUB_QUANTILE_LEVELS) == 23
    assert HUB_QUANTILE_LEVELS[:3] == (0.01, 0.025, 0.05)
    assert HUB_QUANTILE_LEVELS[11] == 0.5
    np.testing.assert_allclose(LEVELS + LEVELS[::-1], 1.0)


def _scoringrules_wis(quantiles: np.ndarray, observed: np.ndarray) -> np.ndarray:
    # Composed from scoringrules' interval score: its own weighted_interval_score (0.10, NumPy
    # backend) adds w_0 times the median instead of w_0 |y - median|.
    median, lower, upper, alpha = _as_intervals(quantiles)
    intervals = scoringrules.interval_score(observed, lower, upper, alpha, backend="numpy")
    total = 0.5 * np.abs(observed - median) + (intervals * alpha / 2).sum(axis=-1)
    result: np.ndarray = total / (alpha.size + 0.5)
    return result


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_wis_equals_scoringrules_on_random_forecasts(seed: int) -> None:
    quantiles, observed = _random_forecasts(seed)

    ours = weighted_interval_score(quantiles, observed, levels=LEVELS)

    np.testing.assert_allclose(ours, _scoringrules_wis(quantiles, observed), rtol=1e-10)
    pinball = scoringrules.quantile_score(observed[:, None], quantiles, LEVELS, backend="numpy")
    np.testing.assert_allclose(ours, pinball.sum(axis=-1) / 11.5, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_wis_on_the_log_scale_equals_scoringrules_on_transformed_values(seed: int) -> None:
    quantiles, observed = _random_forecasts(seed)
    q, y = log_scale(quantiles), log_scale(observed)

    ours = weighted_interval_score(q, y, levels=LEVELS)

    np.testing.assert_allclose(ours, _scoringrules_wis(q, y), rtol=1e-10)


def test_wis_matches_its_interval_form_written_out() -> None:
    quantiles, observed = _random_forecasts(7, n=30)
    k = LEVELS.size // 2
    for q, y in zip(quantiles, observed, strict=True):
        total = 0.5 * abs(y - q[k])
        for j in range(k):
            alpha = 2 * LEVELS[j]
            low, high = q[j], q[-1 - j]
            interval = (high - low) + 2 / alpha * max(low - y, 0) + 2 / alpha * max(y - high, 0)
            total += alpha / 2 * interval
        expected = total / (k + 0.5)
        assert weighted_interval_score(q, y, levels=LEVELS) == pytest.approx(expected, rel=1e-12)


def test_a_point_forecast_scores_its_absolute_error() -> None:
    quantiles = np.full((3, LEVELS.size), 10.0)
    observed = np.array([4.0, 10.0, 25.0])

    np.testing.assert_allclose(
        weighted_interval_score(quantiles, observed, levels=LEVELS), [6, 0, 15]
    )
    np.testing.assert_allclose(
        median_absolute_error(quantiles, observed, levels=LEVELS), [6, 0, 15]
    )


def test_coverage_counts_the_closed_central_interval() -> None:
    quantiles = np.tile(np.arange(LEVELS.size, dtype=float), (4, 1))  # q_τ = index
    # 50 % interval: levels 0.25 and 0.75 are indices 6 and 16; 90 %: 0.05 and 0.95 are 2 and 20.
    observed = np.array([6.0, 16.0, 5.9, 20.5])

    np.testing.assert_array_equal(
        interval_coverage(quantiles, observed, levels=LEVELS, central=0.5), [1, 1, 0, 0]
    )
    np.testing.assert_array_equal(
        interval_coverage(quantiles, observed, levels=LEVELS, central=0.9), [1, 1, 1, 0]
    )


def test_bad_forecasts_are_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="quantiles: must not decrease"):
        weighted_interval_score(np.arange(23.0)[::-1], 1.0, levels=LEVELS)
    with pytest.raises(ValueError, match="quantiles: expected shape"):
        weighted_interval_score(np.zeros((2, 5)), np.zeros(2), levels=LEVELS)
    with pytest.raises(ValueError, match="levels:"):
        weighted_interval_score(np.zeros(3), 0.0, levels=[0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"central: level 0\.33"):
        interval_coverage(np.zeros(23), 0.0, levels=LEVELS, central=0.34)
