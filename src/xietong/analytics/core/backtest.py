"""Backtests: forecasts from every origin in a range, each from the data up to its origin only,
scored against what came, beside the persistence and forecast-hub baselines scored the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray, IntArray
from xietong.analytics.core.baselines import hub_baseline_quantiles, persistence_quantiles
from xietong.analytics.core.conformal import recalibrate
from xietong.analytics.core.growth_forecast import GrowthModel, growth_ensemble
from xietong.analytics.core.scores import (
    HUB_QUANTILE_LEVELS,
    interval_coverage,
    log_scale,
    median_absolute_error,
    sample_quantiles,
    weighted_interval_score,
)
from xietong.analytics.core.validation import as_daily_counts, check_at_least

#: The forecasters of a backtest, in the order of `Backtest.quantiles`' first axis.
METHODS: tuple[str, ...] = ("model", "hub_baseline", "persistence")


@dataclass(frozen=True)
class Backtest:
    """Quantile forecasts and what came, for every method, origin, horizon and district.

    Attributes
    ----------
    origins : ndarray of int, shape (O,)
        Index in the series of each forecast date (the last day the forecast knew).
    horizons : tuple of int
        Days ahead that were scored.
    quantiles : ndarray, shape (len(METHODS), O, len(horizons), D, Q)
        Natural-scale quantiles at ``levels``.
    observed : ndarray, shape (O, len(horizons), D)
    levels : tuple of float
    """

    origins: IntArray
    horizons: tuple[int, ...]
    quantiles: FloatArray
    observed: FloatArray
    levels: tuple[float, ...]

    def scores(self, *, log: bool = False) -> dict[str, FloatArray]:
        """Per-forecast scores, each of shape (len(METHODS), O, len(horizons), D).

        Keys: ``wis``, ``coverage_50``, ``coverage_90`` and ``absolute_error`` (of the median),
        on the natural scale, or on the log(x + 1) scale when ``log``.
        """
        q, y = self.quantiles, np.broadcast_to(self.observed, self.quantiles.shape[:-1])
        if log:
            q, y = log_scale(q), log_scale(y)
        return {
            "wis": weighted_interval_score(q, y, levels=self.levels),
            "coverage_50": interval_coverage(q, y, levels=self.levels, central=0.5),
            "coverage_90": interval_coverage(q, y, levels=self.levels, central=0.9),
            "absolute_error": median_absolute_error(q, y, levels=self.levels),
        }


def run_backtest(
    series: npt.ArrayLike,
    *,
    origins: npt.ArrayLike,
    horizons: tuple[int, ...] = (7, 14),
    rng: np.random.Generator,
    model: GrowthModel | None = None,
    runs: int = 400,
    susceptible: npt.ArrayLike | None = None,
    lookback_days: int = 14,
    outer_lookback_days: int = 21,
    levels: tuple[float, ...] = HUB_QUANTILE_LEVELS,
    known: Callable[[int], npt.ArrayLike] | None = None,
) -> Backtest:
    """Forecast from every origin with the data up to it, recalibrate, and set beside baselines.

    The model (`growth_forecast.growth_ensemble`) forecasts from every day with enough history,
    not only from the scored origins, so that `conformal.recalibrate` has the errors of the
    forecasts made before each scored origin; a forecast never sees a day after its origin.

    Parameters
    ----------
    series : array_like, shape (T, D)
        Daily counts, oldest first, as known at the end (reference series are not revised).
    origins : array_like of int
        Indices of the forecast dates to score; each needs ``model.window_days`` days of history
        and every scored target day inside the series.
    horizons : tuple of int
    rng : numpy.random.Generator
    susceptible : array_like, shape (D,), optional
        Population that could be infected at the start of the series; the forecast depletes it
        by the counts up to its origin.
    known : callable, optional
        ``known(origin)``: the series as it was known at the end of day ``origin``, shape
        (origin + 1, D) (counts still to be reported then missing, or completed by a nowcast).
        What every forecaster of an origin reads; ``series`` stays what they are scored
        against. Without it, ``series[: origin + 1]``.
    """
    model = GrowthModel() if model is None else model
    counts = as_daily_counts(series, name="series")
    scored: IntArray = np.asarray(origins, dtype=np.int64)
    if len(horizons) == 0 or min(horizons) < 1:
        raise ValueError("horizons: expected at least one horizon of 1 day or more")
    check_at_least("runs", runs, 1)
    first = model.window_days - 1
    if scored.size == 0 or scored.min() < first or scored.max() + max(horizons) >= counts.shape[0]:
        raise ValueError(
            f"origins: each must have {model.window_days} days of history and its targets "
            f"within the {counts.shape[0]} days of the series"
        )
    horizon = max(horizons)
    tau = np.asarray(levels)
    every: IntArray = np.arange(first, scored.max() + 1, dtype=np.int64)
    raw = np.empty((every.size, horizon, counts.shape[1], tau.size))
    seen = np.full((every.size, horizon, counts.shape[1]), np.nan)
    # One generator per origin and method: the draws of a forecast depend on its own data only.
    streams = rng.spawn(2 * every.size)

    def as_known(origin: int) -> FloatArray:
        if known is None:
            return counts[: origin + 1]
        return as_daily_counts(known(origin), name="known(origin)")

    for k, origin in enumerate(every):
        history = as_known(int(origin))
        left = None
        if susceptible is not None:
            left = np.clip(np.asarray(susceptible) - history.sum(axis=0), 0, None)
        ensemble = growth_ensemble(
            history,
            horizon_days=horizon,
            runs=runs,
            rng=streams[k],
            model=model,
            susceptible=left,
        )
        raw[k] = sample_quantiles(ensemble.transpose(1, 2, 0), tau)
        ahead = counts[origin + 1 : origin + 1 + horizon]
        seen[k, : ahead.shape[0]] = ahead
    pick = scored - first
    if known is None:
        tuned = recalibrate(
            raw,
            seen,
            origin_days=every,
            levels=tau,
            lookback_days=lookback_days,
            outer_lookback_days=outer_lookback_days,
        )[pick]
    else:
        tuned = _recalibrated_as_known(
            raw,
            every=every,
            scored=scored,
            as_known=as_known,
            levels=tau,
            lookback=(lookback_days, outer_lookback_days),
        )
    tuned_nat = np.clip(tuned, 0.0, None)
    steps = np.asarray(horizons) - 1
    model_q = tuned_nat[:, steps]
    hub = np.empty_like(model_q)
    still = np.empty_like(model_q)
    for k, origin in enumerate(scored):
        history = as_known(int(origin))
        stream = streams[every.size + origin - first]
        hub[k] = hub_baseline_quantiles(
            history, horizon_days=horizon, levels=tau, rng=stream, only=tuple(horizons)
        )
        still[k] = persistence_quantiles(history, horizon_days=horizon, levels=tau)[steps]
    observed = counts[scored[:, None] + np.asarray(horizons)[None, :]]
    return Backtest(
        origins=scored,
        horizons=tuple(horizons),
        quantiles=np.stack([model_q, hub, still]),
        observed=observed,
        levels=tuple(levels),
    )


def _recalibrated_as_known(
    raw: FloatArray,
    *,
    every: IntArray,
    scored: IntArray,
    as_known: Callable[[int], FloatArray],
    levels: FloatArray,
    lookback: tuple[int, int],
) -> FloatArray:
    """`recalibrate` for each scored origin (``lookback``: its inner and outer look-backs)
    with the past errors as they could be measured then: the target days of earlier forecasts
    read as they were known at that origin (counts still to be reported then were not yet
    there to compare with)."""
    horizon = raw.shape[1]
    tuned = np.empty((scored.size, *raw.shape[1:]))
    for k, origin in enumerate(scored):
        rows = np.flatnonzero((every >= origin - max(lookback) - horizon) & (every <= origin))
        then = as_known(int(origin))
        seen = np.full((rows.size, horizon, raw.shape[2]), np.nan)
        for r, start in enumerate(every[rows]):
            ahead = then[start + 1 : start + 1 + horizon]
            seen[r, : ahead.shape[0]] = ahead
        tuned[k] = recalibrate(
            raw[rows],
            seen,
            origin_days=every[rows],
            levels=levels,
            lookback_days=lookback[0],
            outer_lookback_days=lookback[1],
            last_only=True,
        )[-1]
    return tuned
