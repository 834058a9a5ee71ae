"""The chain-ladder nowcast on simulated reporting triangles: it recovers the true final counts
of the last days within its band, and leaves complete days as they were reported."""

from __future__ import annotations

import numpy as np
import pytest

from xietong.analytics.core.nowcast import chain_ladder, nowcast

DELAY = np.array([0.35, 0.3, 0.15, 0.1, 0.05, 0.03, 0.02])  # share reported d days later


def _simulated(seed: int, days: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A growing then falling outbreak, reported with the delays above; NaN past today."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    truth = rng.poisson(200 * np.exp(0.08 * t - 0.0018 * t**2))
    full = np.stack([rng.multinomial(n, DELAY) for n in truth]).astype(float)
    seen = t[:, None] + np.arange(DELAY.size)[None, :] <= days - 1
    return truth.astype(float), np.where(seen, full, np.nan)


def test_with_complete_rows_and_exact_factors_the_chain_ladder_is_exact() -> None:
    share = np.array([0.5, 0.3, 0.2])
    rows = np.outer([100.0, 200.0, 300.0, 400.0], share)
    rows[3, 1:] = np.nan
    rows[2, 2] = np.nan

    np.testing.assert_allclose(chain_ladder(rows), [100, 200, 300, 400])


def test_the_nowcast_recovers_the_true_totals_within_its_band() -> None:
    inside, total, errors_now, errors_reported = 0, 0, [], []
    for seed in range(20):
        truth, triangle = _simulated(seed)
        result = nowcast(triangle, levels=(0.05, 0.95))
        last = slice(-6, None)
        inside += int(
            np.sum((result.lower[last] <= truth[last]) & (truth[last] <= result.upper[last]))
        )
        total += 6
        errors_now.append(np.abs(result.expected[last] - truth[last]).sum())
        errors_reported.append(np.abs(result.reported[last] - truth[last]).sum())
        np.testing.assert_array_equal(result.expected[:-6], truth[:-6])
    assert inside / total >= 0.8
    # and it is far closer than what had been reported by then
    assert sum(errors_now) < 0.35 * sum(errors_reported)


def test_a_triangle_of_one_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="triangle: expected shape"):
        nowcast(np.ones((5, 1)))


def test_triangles_stacked_are_each_nowcast_as_alone() -> None:
    stacked = np.stack([_simulated(seed)[1] for seed in range(4)])
    together = nowcast(stacked)
    for k in range(4):
        alone = nowcast(stacked[k])
        for field in ("reported", "expected", "lower", "upper"):
            np.testing.assert_allclose(getattr(together, field)[k], getattr(alone, field))
    np.testing.assert_allclose(chain_ladder(stacked)[2], chain_ladder(stacked[2]))
