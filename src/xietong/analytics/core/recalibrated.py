"""The growth forecast as the backtests score it, for use on the day: the model's quantiles from
the last day of a history, recalibrated by the errors of the forecasts the same model would have
made from each earlier day of that history (`conformal.recalibrate`), so that what a page or a
plan reads is what `backtest.run_backtest` measured.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.conformal import recalibrate
from xietong.analytics.core.growth_forecast import GrowthModel, growth_ensemble
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS, check_levels, sample_quantiles
from xietong.analytics.core.validation import as_daily_counts, check_at_least


def recalibrated_quantiles(
    history: npt.ArrayLike,
    *,
    horizon_days: int,
    rng: np.random.Generator,
    model: GrowthModel | None = None,
    runs: int = 400,
    levels: tuple[float, ...] = HUB_QUANTILE_LEVELS,
    lookback_days: int = 14,
    outer_lookback_days: int = 21,
) -> FloatArray:
    """Quantiles of the next ``horizon_days`` days after the last day of ``history``.

    The growth forecast (`growth_forecast.growth_ensemble`) is made from every day of the
    history with ``model.window_days`` days behind it, each from the days up to it only, and
    the last one's central intervals are widened or narrowed by the misses of the earlier ones
    (from the last ``lookback_days`` days, ``outer_lookback_days`` for the outer intervals)
    whose target days are in the history
    (`conformal.recalibrate`, the backtests' look-back and scale). With too few of them (a
    short history) the model's own quantiles stand.
    The generator is split as `backtest.run_backtest` splits it, so that the same history and
    seed give the same quantiles as a backtest's forecast from that day.

    Parameters
    ----------
    history : array_like, shape (T, D)
        Daily counts up to the forecast date, oldest first; ``T >= model.window_days``.
    horizon_days, runs, lookback_days, outer_lookback_days : int
    rng : numpy.random.Generator
    model : GrowthModel, optional
    levels : tuple of float
        Symmetric quantile levels with the median in the middle.

    Returns
    -------
    ndarray, shape (horizon_days, D, len(levels))
        Natural scale, at least 0, non-decreasing along the levels.
    """
    model = GrowthModel() if model is None else model
    counts = as_daily_counts(history, name="history", min_days=model.window_days)
    check_at_least("horizon_days", horizon_days, 1)
    check_at_least("runs", runs, 1)
    tau = check_levels(levels)
    first = model.window_days - 1
    # One generator per day that could be a forecast date, as the backtest spawns them; only
    # the days within the look-back are forecast (earlier ones are not read).
    streams = rng.spawn(counts.shape[0] - first)
    last = counts.shape[0] - 1
    look_back = max(lookback_days, outer_lookback_days)
    origins = np.arange(max(first, last - look_back), last + 1, dtype=np.int64)
    raw = np.empty((origins.size, horizon_days, counts.shape[1], tau.size))
    seen = np.full((origins.size, horizon_days, counts.shape[1]), np.nan)
    for k, origin in enumerate(origins):
        ensemble = growth_ensemble(
            counts[: origin + 1],
            horizon_days=horizon_days,
            runs=runs,
            rng=streams[origin - first],
            model=model,
        )
        raw[k] = sample_quantiles(ensemble.transpose(1, 2, 0), tau)
        ahead = counts[origin + 1 : origin + 1 + horizon_days]
        seen[k, : ahead.shape[0]] = ahead
    tuned = recalibrate(
        raw,
        seen,
        origin_days=origins,
        levels=tau,
        lookback_days=lookback_days,
        outer_lookback_days=outer_lookback_days,
        last_only=True,
    )
    result: FloatArray = np.clip(tuned[-1], 0.0, None)
    return result
