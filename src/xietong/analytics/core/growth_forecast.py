"""Forecasts of daily reported counts from their recent growth: the growth rate fitted to the last
days (the latest weighing most), each district's pooled towards the rate of their sum, carried
forward as a random walk on the log scale that reverts to a slow decline (so the rate can change
over the horizon and the trend fades), with its fitting error and the day-to-day noise of the
counts, and the susceptibles a district still holds depleted as the forecast infects them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.growth import LOG_OFFSET
from xietong.analytics.core.validation import (
    as_daily_counts,
    check_at_least,
    check_positive,
    check_probability,
)

# Daily growth rates beyond ±0.5 (doubling in 1.4 days) are not sustained by any outbreak of record.
_MAX_RATE = 0.5


@dataclass(frozen=True)
class GrowthModel:
    """How the recent growth is carried forward.

    Attributes
    ----------
    window_days : int
        Trailing days the growth rate and level are fitted on (log-linear least squares).
    half_life_days : float
        Age in days at which a day of the window weighs half as much as the last one in the fit
        (weighted least squares, weights halving every ``half_life_days`` back): the last days
        say more about where the growth is going than the first ones, most of all at a turn.
        ``math.inf`` weighs every day alike.
    damping : float
        Daily factor φ by which the growth rate's distance from ``long_run_rate`` decays (a
        damped trend [1]_): the log count grows by ``μ h + (r − μ)(φ + φ² + … + φ^h)`` over
        ``h`` days.
    long_run_rate : float
        The rate μ the growth reverts to. Below 0: an outbreak under the measures this system
        runs (screening every other day, areas locked within a day of a case) is expected, in
        the long run, to decline, not to stay where it is. −0.02 (halving in five weeks) is
        gentler than either decline on record here (Shanghai's after 13 April 2022 about −0.16
        a day, the twin's about −0.07); it was chosen on the backtests of docs/analytics.md.
    growth_sd : float
        Standard deviation of the daily random-walk step of the growth rate (per day).
    pooled : bool
        Forecasting several districts together, shrink each district's rate towards the
        rate of their sum by how precisely its own days measure it (`pooled_rates`).
    min_rate_spread : float
        The least spread of the districts' true rates around the sum's that the pooling
        assumes, so that no district is ever given the sum's rate outright.

    References
    ----------
    .. [1] Gardner, E. S., & McKenzie, E. (1985). Forecasting trends in time series.
       Management Science 31(10), 1237-1246.
    """

    window_days: int = 7
    half_life_days: float = 3.0
    damping: float = 0.75
    long_run_rate: float = -0.02
    growth_sd: float = 0.03
    pooled: bool = True
    min_rate_spread: float = 0.05

    def __post_init__(self) -> None:
        check_at_least("window_days", self.window_days, 3)
        if not self.half_life_days > 0:  # math.inf allowed: every day weighs alike
            raise ValueError(f"half_life_days: must be positive, got {self.half_life_days}")
        weights = 0.5 ** (np.arange(self.window_days) / self.half_life_days)
        if weights.sum() ** 2 / (weights @ weights) <= 2.0:
            raise ValueError(
                "half_life_days: too short for the window; the fit needs more than two "
                "days' worth of weight"
            )
        check_probability("damping", self.damping)
        if not -_MAX_RATE <= self.long_run_rate <= _MAX_RATE:
            raise ValueError(
                f"long_run_rate: expected a daily rate within ±{_MAX_RATE}, "
                f"got {self.long_run_rate}"
            )
        check_positive("growth_sd", self.growth_sd)
        check_positive("min_rate_spread", self.min_rate_spread)


def growth_ensemble(
    history: npt.ArrayLike,
    *,
    horizon_days: int,
    runs: int,
    rng: np.random.Generator,
    model: GrowthModel | None = None,
    susceptible: npt.ArrayLike | None = None,
) -> FloatArray:
    """Trajectories of daily counts over the horizon, per district.

    Per district, ``log(y + 0.5) = a + r t`` is fitted by weighted least squares to the last
    ``window_days`` days, each day weighing half as much ``half_life_days`` further back. Each
    run draws its starting rate
    from the fit's normal approximation ``N(r, SE²)`` and moves it as
    ``r_k = μ + φ (r_{k-1} − μ) + η_k``, after each district's rate is pooled towards that of
    the districts' sum (`pooled_rates`, unless ``model.pooled`` is off),
    ``η_k ~ N(0, growth_sd²)``; the log count on day ``h`` is the fitted level on the last day
    plus ``r_1 + … + r_h``. Days vary around that path by the fit's residual spread
    (log-normal, mean preserving). Where ``susceptible`` is given, each day's count is scaled by
    the share of the district's susceptibles still left and never exceeds them, so a run can
    infect no more people than the district holds.

    Parameters
    ----------
    history : array_like, shape (T, D)
        Daily counts up to the forecast date, oldest first; ``T >= window_days``.
    horizon_days, runs : int
    rng : numpy.random.Generator
    model : GrowthModel, optional
    susceptible : array_like, shape (D,), optional
        People still susceptible on the forecast date.

    Returns
    -------
    ndarray, shape (runs, horizon_days, D)
    """
    model = GrowthModel() if model is None else model
    counts = as_daily_counts(history, name="history", min_days=model.window_days)
    check_at_least("horizon_days", horizon_days, 1)
    check_at_least("runs", runs, 1)
    level, (rate, rate_se, _), noise_sd = _district_rates(counts, model)
    d = counts.shape[1]

    steps = rng.normal(0.0, model.growth_sd, size=(runs, horizon_days, d))
    current = rng.normal(rate, rate_se, size=(runs, d))
    path = np.empty((runs, horizon_days, d))
    for day in range(horizon_days):
        current = np.clip(
            model.long_run_rate + model.damping * (current - model.long_run_rate) + steps[:, day],
            -_MAX_RATE,
            _MAX_RATE,
        )
        path[:, day] = current
    log_mean = level + np.cumsum(path, axis=1)
    jitter = rng.normal(0.0, 1.0, size=(runs, horizon_days, d)) * noise_sd - noise_sd**2 / 2
    mean = np.clip(np.exp(np.clip(log_mean + jitter, -50.0, 30.0)) - LOG_OFFSET, 0.0, None)
    daily = rng.poisson(mean).astype(np.float64)
    if susceptible is None:
        return daily
    return _deplete(daily, np.asarray(susceptible, dtype=np.float64), d)


class PooledRates(NamedTuple):
    """Each district's pooled growth rate, its standard error and the weight ``w`` its own
    week's rate has in it (1: its own; near 0: the sum's)."""

    rate: FloatArray
    rate_se: FloatArray
    own_weight: FloatArray


def own_growth_weights(history: npt.ArrayLike, *, model: GrowthModel | None = None) -> FloatArray:
    """Per district of ``history`` (T, D), the weight its own last week's growth has in its
    forecast beside the others' (`pooled_rates`); 1 for every district when not pooled."""
    model = GrowthModel() if model is None else model
    counts = as_daily_counts(history, name="history", min_days=model.window_days)
    return _district_rates(counts, model)[1].own_weight


def _district_rates(
    counts: FloatArray, model: GrowthModel
) -> tuple[FloatArray, PooledRates, FloatArray]:
    """The fitted log level on the last day, each district's rate (pooled with the others'
    where the model pools and there are others) and the residual spread."""
    window = counts[-model.window_days :]
    level, rate, rate_se, noise_sd = _fit(window, half_life_days=model.half_life_days)
    if not model.pooled or counts.shape[1] < 2:
        return level, PooledRates(rate, rate_se, np.ones(counts.shape[1])), noise_sd
    _, total_rate, total_se, _ = _fit(
        window.sum(axis=1, keepdims=True), half_life_days=model.half_life_days
    )
    pooled = pooled_rates(
        rate,
        rate_se,
        total_rate=float(total_rate[0]),
        total_se=float(total_se[0]),
        min_spread=model.min_rate_spread,
    )
    return level, pooled, noise_sd


def pooled_rates(
    rate: FloatArray,
    rate_se: FloatArray,
    *,
    total_rate: float,
    total_se: float,
    min_spread: float,
) -> PooledRates:
    """Each district's growth rate shrunk towards the rate of the districts' sum, and its
    standard error: the normal random-effects estimate (empirical Bayes [1]_).

    The districts' true rates are taken to spread around the sum's rate with a variance ``τ²``
    estimated by the method of moments, ``max(min_spread², var(r) − mean(SE²))`` (the spread
    of the fitted rates less what their own fitting errors explain, DerSimonian & Laird [2]_).
    A district's rate becomes ``w r + (1 − w) r_sum`` with ``w = τ² / (τ² + SE²)``: a district
    of many cases (a small SE) keeps its own rate, one of a few noisy days leans on the city's,
    and none is given the city's outright. Its variance is ``w SE² + (1 − w)² SE_sum²``.

    References
    ----------
    .. [1] Efron, B., & Morris, C. (1975). Data analysis using Stein's estimator and its
       generalizations. Journal of the American Statistical Association 70(350), 311-319.
    .. [2] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Controlled
       Clinical Trials 7(3), 177-188.
    """
    spread = max(min_spread**2, float(np.var(rate) - np.mean(rate_se**2)))
    weight = spread / (spread + rate_se**2)
    pooled = weight * rate + (1.0 - weight) * total_rate
    pooled_se = np.sqrt(weight * rate_se**2 + (1.0 - weight) ** 2 * total_se**2)
    return PooledRates(pooled, pooled_se, weight)


def _fit(
    window: FloatArray, *, half_life_days: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Fitted log level on the last day, rate, its standard error and the residual spread.

    Weighted least squares with weights ``w`` halving every ``half_life_days`` back from the
    last day. The days' errors are taken as equally variable (the weights say how much a day
    tells of the present, not how noisy it is), so the rate's variance is
    ``σ² Σ w² t² / (Σ w t²)²`` and ``σ²`` the weighted mean squared residual over the effective
    number of days ``(Σ w)² / Σ w²`` less the two fitted: with equal weights, ordinary least
    squares and its usual standard error.
    """
    n = window.shape[0]
    logs = np.log(window + LOG_OFFSET)
    weights = 0.5 ** ((n - 1 - np.arange(n, dtype=np.float64)) / half_life_days)
    total = float(weights.sum())
    t = np.arange(n, dtype=np.float64)
    t = t - float(weights @ t) / total
    sxx = float(weights @ (t * t))
    mean = (weights @ logs) / total
    rate = ((weights * t) @ (logs - mean)) / sxx
    residuals = logs - mean - np.outer(t, rate)
    effective = total**2 / float(weights @ weights)
    variance = (weights @ residuals**2) / total * effective / (effective - 2.0)
    rate_se = np.sqrt(variance * float((weights * t) @ (weights * t))) / sxx
    result = (mean + rate * t[-1], rate, rate_se, np.sqrt(variance))
    return result


def _deplete(daily: FloatArray, susceptible: FloatArray, d: int) -> FloatArray:
    if susceptible.shape != (d,) or np.any(~np.isfinite(susceptible)) or np.any(susceptible < 0):
        raise ValueError(f"susceptible: expected {d} finite non-negative numbers")
    start = np.where(susceptible > 0, susceptible, 1.0)
    left = np.broadcast_to(susceptible, daily[:, 0].shape).copy()
    result = np.empty_like(daily)
    for day in range(daily.shape[1]):
        taken = np.minimum(daily[:, day] * left / start, left)
        result[:, day] = taken
        left = left - taken
    return result
