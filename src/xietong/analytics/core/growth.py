"""Epidemic growth rate r, with doubling or halving time, of every district over trailing windows.

One closed-form least-squares fit of log daily cases against the day, for all districts and all
windows at once, with a t-based confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from xietong.analytics.core.arrays import BoolArray, FloatArray, IntArray, freeze_arrays
from xietong.analytics.core.validation import as_district_matrix

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_GROWTH_WINDOW_DAYS",
    "LOG_OFFSET",
    "GrowthEstimate",
    "estimate_growth_rate",
]


DEFAULT_GROWTH_WINDOW_DAYS: Final = 7
DEFAULT_CONFIDENCE: Final = 0.95
LOG_OFFSET: Final = 0.5
"""Added to each count before the logarithm so that a day with no case stays finite."""

_LN2: Final = math.log(2.0)


@dataclass(frozen=True, eq=False)
class GrowthEstimate:
    """Growth rate per day over trailing windows, for D districts and W windows.

    Days are numbered as in `xietong.analytics.core.rt`: 1-based and inclusive, each estimate
    belonging to its window's last day, so that estimates of both modules ending on the same
    day line up by ``t_end``.

    Attributes
    ----------
    t_start, t_end : numpy.ndarray, shape (W,)
        First and last day of each window (1-based, inclusive).
    rate : numpy.ndarray, shape (D, W)
        Growth rate r per day (negative when cases fall).
    rate_lower, rate_upper : numpy.ndarray, shape (D, W)
        Confidence interval of r at level ``confidence``.
    standard_error : numpy.ndarray, shape (D, W)
        Standard error of r.
    confidence : float
        Level of the confidence intervals.
    doubling_time, doubling_time_lower, doubling_time_upper : numpy.ndarray, shape (D, W)
        ln 2 / r and its interval, in days, where r > 0; NaN elsewhere. The upper end is +inf
        when the interval of r reaches 0 or below (doubling not excluded from "never").
    halving_time, halving_time_lower, halving_time_upper : numpy.ndarray, shape (D, W)
        ln 2 / (-r) and its interval, in days, where r < 0; NaN elsewhere; +inf as above.
    """

    t_start: IntArray
    t_end: IntArray
    rate: FloatArray
    rate_lower: FloatArray
    rate_upper: FloatArray
    standard_error: FloatArray
    confidence: float
    doubling_time: FloatArray
    doubling_time_lower: FloatArray
    doubling_time_upper: FloatArray
    halving_time: FloatArray
    halving_time_lower: FloatArray
    halving_time_upper: FloatArray

    def __post_init__(self) -> None:
        freeze_arrays(self)


def estimate_growth_rate(
    incidence: npt.ArrayLike,
    *,
    window_days: int = DEFAULT_GROWTH_WINDOW_DAYS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GrowthEstimate:
    """Fit log(cases + 0.5) = c + r·day on every trailing window of every district.

    Ordinary least squares on the log counts is the classical estimate of an exponential growth
    rate [1]_. It is chosen here over a Poisson or negative-binomial GLM because it has a closed
    form, so that one set of array operations fits every district and every window with no
    iteration, and because its residual variance absorbs the day-to-day overdispersion of
    reported cases (weekday effects, batches of pooled-test results) that a plain Poisson fit
    would ignore. The interval is r ± t_{n-2} · SE(r). The offset 0.5 is the usual continuity
    correction for the logarithm of a count [2]_: it keeps days without a case finite and
    biases r towards 0 only when counts are in single figures, where a GLM would be preferable
    [1]_.

    Parameters
    ----------
    incidence : array_like, shape (D, T) or (T,)
        New cases per district and day, oldest first; non-negative. A 1-D series is one
        district (D = 1).
    window_days : int
        Days in each fit, at least 3 (the interval needs one residual degree of freedom).
    confidence : float
        Level of the confidence interval, in (0, 1).

    Returns
    -------
    GrowthEstimate
        Arrays of shape (D, W), W = T - window_days + 1: windows end on days
        window_days ... T.

    Raises
    ------
    ValueError
        If ``incidence`` is not a finite, non-negative matrix of at least ``window_days`` days,
        ``window_days`` is not an integer of at least 3, or ``confidence`` is outside (0, 1);
        the message names the argument.

    References
    ----------
    .. [1] Ma J. Estimating epidemic exponential growth rate and basic reproduction number.
       Infect Dis Model 2020;5:129-141. doi:10.1016/j.idm.2019.12.009
    .. [2] Haldane JBS. The estimation and significance of the logarithm of a ratio of
       frequencies. Ann Hum Genet 1956;20(4):309-311.
    """
    cases = as_district_matrix(incidence, name="incidence")
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer):
        raise ValueError(f"window_days must be an integer, got {window_days!r}")
    if window_days < 3:
        raise ValueError(f"window_days must be >= 3, got {window_days}")
    days = cases.shape[1]
    if days < window_days:
        raise ValueError(f"incidence must cover at least window_days ({window_days}), got {days}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")

    n = int(window_days)
    log_cases = np.log(cases + LOG_OFFSET)
    windows = sliding_window_view(log_cases, n, axis=1)  # (D, W, n)
    # Measuring each window from its first day makes a flat window exactly flat (r = 0 and
    # SE = 0, not ±1e-16 that could tip a plateau into growth or decline).
    windows = windows - windows[..., :1]
    centred_day = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    sum_sq_days = float(np.dot(centred_day, centred_day))

    rate = (windows @ centred_day) / sum_sq_days
    level = windows.mean(axis=2)
    residuals = windows - level[..., np.newaxis] - rate[..., np.newaxis] * centred_day
    residual_variance = np.einsum("dwk,dwk->dw", residuals, residuals) / (n - 2)
    standard_error = np.sqrt(residual_variance / sum_sq_days)
    t_quantile = float(stats.t.ppf(0.5 + confidence / 2.0, n - 2))
    rate_lower = rate - t_quantile * standard_error
    rate_upper = rate + t_quantile * standard_error

    growing = rate > 0
    falling = rate < 0
    t_end = np.arange(n, days + 1, dtype=np.int64)
    return GrowthEstimate(
        t_start=t_end - (n - 1),
        t_end=t_end,
        rate=rate,
        rate_lower=rate_lower,
        rate_upper=rate_upper,
        standard_error=standard_error,
        confidence=float(confidence),
        doubling_time=_ln2_over(rate, growing),
        doubling_time_lower=_ln2_over(rate_upper, growing),
        doubling_time_upper=_ln2_over(rate_lower, growing, unbounded=rate_lower <= 0),
        halving_time=_ln2_over(-rate, falling),
        halving_time_lower=_ln2_over(-rate_lower, falling),
        halving_time_upper=_ln2_over(-rate_upper, falling, unbounded=rate_upper >= 0),
    )


def _ln2_over(
    rate: FloatArray,
    where: BoolArray,
    *,
    unbounded: BoolArray | None = None,
) -> FloatArray:
    """ln 2 / rate where ``where``, +inf where also ``unbounded``, NaN elsewhere."""
    safe = where if unbounded is None else where & ~unbounded
    out = np.full(rate.shape, np.nan)
    np.divide(_LN2, rate, out=out, where=safe)
    if unbounded is not None:
        out[where & unbounded] = np.inf
    return out
