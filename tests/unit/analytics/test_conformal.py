"""Recalibration from past errors: a model whose bands are too narrow is widened to its nominal
coverage, and a forecast never uses what came after its own date."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from xietong.analytics.core.conformal import recalibrate
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS, interval_coverage

LEVELS = np.asarray(HUB_QUANTILE_LEVELS)


def _overconfident(origins: int, horizons: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A model that says sd 0.1·√h when the truth varies by 0.5·√h around its median."""
    rng = np.random.default_rng(seed)
    median = rng.normal(5.0, 1.0, size=(origins, horizons, 2))
    h = np.arange(1, horizons + 1)[None, :, None]
    model = median[..., None] + 0.1 * np.sqrt(h)[..., None] * stats.norm.ppf(LEVELS)
    observed = median + 0.5 * np.sqrt(h) * rng.standard_normal(median.shape)
    return model, observed


def test_overconfident_bands_are_widened_to_their_nominal_coverage() -> None:
    model, observed = _overconfident(300, 14, seed=5)

    tuned = recalibrate(
        model,
        observed,
        origin_days=np.arange(300),
        levels=LEVELS,
        lookback_days=120,
        outer_lookback_days=120,
    )

    scored = slice(150, 300)
    for central, raw_at_most in ((0.5, 0.2), (0.9, 0.35)):
        raw = interval_coverage(model[scored], observed[scored], levels=LEVELS, central=central)
        fixed = interval_coverage(tuned[scored], observed[scored], levels=LEVELS, central=central)
        assert raw.mean() < raw_at_most
        assert abs(fixed.mean() - central) < 0.05
    # and the band widens with the horizon, as the errors do
    width = tuned[scored, :, :, 20] - tuned[scored, :, :, 2]
    assert width[:, 13].mean() > width[:, 0].mean()


def test_a_forecast_never_uses_what_came_after_its_date() -> None:
    model, observed = _overconfident(60, 7, seed=8)
    before = recalibrate(
        model, observed, origin_days=np.arange(60), levels=LEVELS, min_forecasts=10
    )
    target_day = np.arange(60)[:, None, None] + np.arange(1, 8)[None, :, None]
    changed = np.where(target_day > 40, observed + 100.0, observed)  # what came after day 40

    after = recalibrate(model, changed, origin_days=np.arange(60), levels=LEVELS, min_forecasts=10)

    np.testing.assert_array_equal(after[:41], before[:41])
    assert not np.array_equal(after[50:], before[50:])


def test_the_last_origin_alone_is_recalibrated_as_among_all() -> None:
    model, observed = _overconfident(40, 14, seed=3)
    every = recalibrate(model, observed, origin_days=np.arange(40), levels=LEVELS)

    last = recalibrate(model, observed, origin_days=np.arange(40), levels=LEVELS, last_only=True)

    np.testing.assert_array_equal(last[-1], every[-1])
    np.testing.assert_array_equal(last[:-1], np.sort(model[:-1], axis=-1))


def test_without_enough_past_errors_the_model_is_kept() -> None:
    model, observed = _overconfident(5, 3, seed=1)

    tuned = recalibrate(model, observed, origin_days=np.arange(5), levels=LEVELS, min_forecasts=100)

    np.testing.assert_array_equal(tuned, model)


def test_too_wide_bands_are_narrowed_and_districts_of_every_size_share_the_scores() -> None:
    rng = np.random.default_rng(3)
    size = np.array([20.0, 20_000.0])  # a small and a large district, same relative noise
    median = size * rng.lognormal(0.0, 0.3, size=(300, 7, 2))
    observed = median * (1.0 + 0.05 * rng.standard_normal(median.shape))
    # the model says ±50 % where the truth varies by ±5 %
    model = median[..., None] * (1.0 + 0.5 * stats.norm.ppf(LEVELS))

    tuned = recalibrate(
        model,
        observed,
        origin_days=np.arange(300),
        levels=LEVELS,
        lookback_days=60,
        outer_lookback_days=60,
    )

    scored = slice(100, 300)
    for central in (0.5, 0.9):
        raw = interval_coverage(model[scored], observed[scored], levels=LEVELS, central=central)
        fixed = interval_coverage(tuned[scored], observed[scored], levels=LEVELS, central=central)
        assert raw.mean() > 0.99
        assert fixed.mean() < raw.mean()
    np.testing.assert_array_equal(tuned[scored, :, :, 11], model[scored, :, :, 11])


def test_the_band_is_widened_by_the_conformal_order_statistic_of_its_misses() -> None:
    # one district, horizon 1, a model band of [0, 0] around 0; what came: 1, 2, … 30, then the
    # forecast to recalibrate (its own target not yet known)
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    model = np.zeros((31, 1, 1, 5))
    observed = np.append(np.arange(1.0, 31.0), np.nan)[:, None, None]

    tuned = recalibrate(
        model,
        observed,
        origin_days=np.arange(31),
        levels=levels,
        lookback_days=40,
        outer_lookback_days=40,
        min_forecasts=30,
        level_power=0.0,
    )

    # the ⌈31 · 0.9⌉ = 28th and ⌈31 · 0.5⌉ = 16th smallest of the 30 misses
    np.testing.assert_array_equal(tuned[-1, 0, 0], [-28.0, -16.0, 0.0, 16.0, 28.0])


def test_districts_of_one_forecast_date_count_as_one_forecast() -> None:
    # 16 districts, horizons 1 and 2; the model's band is [0, 0]: at horizon 2 nothing was
    # missed, at horizon 1 every district was missed by 10
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    model = np.zeros((11, 2, 16, 5))
    observed = np.zeros((11, 2, 16))
    observed[:, 0] = 10.0

    def band_at_two_days(min_forecasts: int) -> np.ndarray:
        tuned = recalibrate(
            model,
            observed,
            origin_days=np.arange(11),
            levels=levels,
            lookback_days=2,
            outer_lookback_days=2,
            min_forecasts=min_forecasts,
            level_power=0.0,
        )
        return tuned[-1, 1, 0]

    # one forecast 2 days ahead (from day 8) is known on day 10: its 16 districts are one
    # forecast, not 16, so asking for 3 adds the two 1 day ahead (from days 8 and 9)
    np.testing.assert_array_equal(band_at_two_days(1), np.zeros(5))
    assert band_at_two_days(3)[-1] > 0.0


def test_levels_not_symmetric_about_the_median_are_refused() -> None:
    model, observed = _overconfident(5, 3, seed=1)
    levels = np.linspace(0.05, 0.9, LEVELS.size)

    with pytest.raises(ValueError, match="levels"):
        recalibrate(model, observed, origin_days=np.arange(5), levels=levels)


def test_the_outer_intervals_remember_misses_a_week_longer_than_the_inner() -> None:
    # one district, horizon 1, a model band of [0, 0]: a turn missed the forecasts of days 0 –
    # 9 by 100, then 30 days of forecasts missed nothing
    levels = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    model = np.zeros((41, 1, 1, 7))
    observed = np.append(np.where(np.arange(40) < 10, 100.0, 0.0), np.nan)[:, None, None]

    def band_on(day: int) -> np.ndarray:
        tuned = recalibrate(
            model[: day + 1],
            observed[: day + 1],
            origin_days=np.arange(day + 1),
            levels=levels,
            min_forecasts=5,
            level_power=0.0,
        )
        return tuned[-1, 0, 0]

    # 17 days after the turn's last miss the 90 % and 98 % intervals (of 80 % or more) still
    # hold it, the 50 % interval has forgotten it; 23 days after, all have
    assert band_on(26)[0] < 0.0 and band_on(26)[1] < 0.0
    assert band_on(26)[2] == 0.0
    np.testing.assert_array_equal(band_on(32), np.zeros(7))


def test_an_outer_look_back_shorter_than_the_inner_is_refused() -> None:
    model, observed = _overconfident(20, 3, seed=2)

    with pytest.raises(ValueError, match="outer_lookback_days"):
        recalibrate(
            model,
            observed,
            origin_days=np.arange(20),
            levels=LEVELS,
            lookback_days=14,
            outer_lookback_days=7,
        )
