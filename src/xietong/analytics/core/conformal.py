"""Recalibration of quantile forecasts from the errors of the forecasts made before: conformalised
quantile regression on the natural scale (persons), using only forecasts whose target day had
already come by the new forecast date (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray, IntArray
from xietong.analytics.core.scores import check_levels
from xietong.analytics.core.validation import check_at_least


def recalibrate(
    model_quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    *,
    origin_days: npt.ArrayLike,
    levels: npt.ArrayLike,
    lookback_days: int = 14,
    outer_lookback_days: int = 21,
    outer_coverage: float = 0.8,
    min_forecasts: int = 30,
    level_power: float = 0.25,
    last_only: bool = False,
) -> FloatArray:
    """Every central interval of the model widened (or narrowed) by what its past misses say.

    For every forecast (origin ``o``, horizon ``h``, district ``d``) and central interval
    ``[l, u]`` of the model (levels τ and 1 − τ), the conformity score is the miss
    ``max(l − y, y − u) / (m + 1)^p``: how far what came fell outside the band (negative when
    inside), in persons, divided by a power ``p`` (``level_power``) of the model's median ``m``
    so that a district of 20 cases and one of 20,000 can share scores [1]_. A new forecast from
    origin ``t`` uses the scores of forecasts whose target day ``o + h`` is at most ``t`` and
    whose origin is within the last ``lookback_days`` days (``outer_lookback_days`` for the
    intervals of ``outer_coverage`` or more): its interval becomes
    ``[l − a s, u + a s]`` with ``a`` the conformal quantile (the ⌈(n + 1)(1 − 2τ)⌉-th smallest)
    of the ``n`` scores and ``s = (m + 1)^p`` its own [2]_; narrowed, it closes at the median.
    Scores come from the same horizon and every district first; horizons nearest to ``h`` are
    added until they come from ``min_forecasts`` past forecasts (origin and horizon), however
    many districts each forecast holds. The outer intervals look further back because they
    rest on the largest few misses (the 98 % interval on the largest): from two weeks alone
    they forget a turn's misses as soon as the turn is a fortnight old, when the next turn's
    forecasts still need them, while the inner intervals, set by the typical miss, follow the
    last two weeks best. The districts' misses of one forecast date share its
    moment of the epidemic (a turn misses them all at once), so sixteen districts from one
    date are not sixteen dates' worth of evidence, and a band set from the one or two dates
    14 days back held the 14-day forecasts of the districts to those dates alone. With
    fewer the model's own quantiles are kept. The median is left where the model put it.

    The scores are in persons rather than on the log scale: the natural-scale WIS is ruled by
    the days of many cases, where a log-scale band set from the errors of days of few cases
    (large in log terms) spans orders of magnitude; and a short look-back lets the band follow
    how wrong the model has been lately, e.g. after a turn of the epidemic.

    Parameters
    ----------
    model_quantiles : array_like, shape (O, H, D, Q)
        The model's quantiles, natural scale, horizons 1..H, sorted along the last axis.
    observed : array_like, shape (O, H, D)
        What came on each target day, NaN where the day is past the data.
    origin_days : array_like of int, shape (O,)
        Day number of each origin, increasing.
    levels : array_like, shape (Q,)
        Symmetric quantile levels with the median in the middle.
    lookback_days, min_forecasts : int
    outer_lookback_days : int
        The look-back of the intervals of ``outer_coverage`` or more; at least
        ``lookback_days``.
    outer_coverage : float
    level_power : float
        0 scores misses in persons, 1 relative to the median; between, a compromise.
    last_only : bool
        Recalibrate the last origin only (the others keep the model's quantiles): what a
        forecast on the day reads, at a fraction of the cost.

    Returns
    -------
    ndarray, shape (O, H, D, Q)
        Sorted along the last axis (a narrowed interval never crosses its neighbours).

    References
    ----------
    .. [1] Romano, Y., Patterson, E., & Candès, E. (2019). Conformalized quantile regression.
       NeurIPS 32.
    .. [2] Stankeviciute, K., Alaa, A. M., & van der Schaar, M. (2021). Conformal time-series
       forecasting. NeurIPS 34.
    """
    tau = check_levels(levels)
    q = np.asarray(model_quantiles, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    days: IntArray = np.asarray(origin_days, dtype=np.int64)
    if q.ndim != 4 or q.shape[-1] != tau.size or y.shape != q.shape[:-1]:
        raise ValueError(
            f"model_quantiles: expected shape (O, H, D, {tau.size}) with observed (O, H, D)"
        )
    if days.shape != (q.shape[0],) or np.any(np.diff(days) <= 0):
        raise ValueError("origin_days: expected one increasing day number per origin")
    if not np.allclose(tau + tau[::-1], 1.0):
        raise ValueError("levels: expected levels symmetric about the median")
    check_at_least("lookback_days", lookback_days, 1)
    check_at_least("outer_lookback_days", outer_lookback_days, lookback_days)
    if not 0.0 < outer_coverage <= 1.0:
        raise ValueError(f"outer_coverage: expected a number in (0, 1], got {outer_coverage}")
    check_at_least("min_forecasts", min_forecasts, 1)
    if not 0.0 <= level_power <= 1.0:
        raise ValueError(f"level_power: expected a number in [0, 1], got {level_power}")
    pairs = tau.size // 2  # interval k runs from quantile k to quantile Q - 1 - k
    scale = (np.clip(q[..., pairs], 0.0, None) + 1.0) ** level_power  # (O, H, D)
    lower, upper = q[..., :pairs], q[..., ::-1][..., :pairs]
    misses = np.maximum(lower - y[..., None], y[..., None] - upper) / scale[..., None]
    coverage = 1.0 - 2.0 * tau[:pairs]
    horizons = q.shape[1]
    target = days[:, None] + np.arange(1, horizons + 1)[None, :]  # (O, H)
    result = q.copy()
    tuned = range(days.size - 1, days.size) if last_only else range(days.size)
    outer = coverage >= outer_coverage
    groups = [(lookback_days, ~outer), (outer_lookback_days, outer)]
    for o in tuned:
        day = days[o]
        for look_back, intervals in groups:
            if not intervals.any():
                continue
            known = (target <= day) & (days[:, None] >= day - look_back)  # (O, H)
            for h in range(horizons):
                scores, forecasts = _nearest_scores(misses[..., intervals], known, h, min_forecasts)
                if forecasts < min_forecasts:
                    continue
                widen = _conformal_quantiles(scores, coverage[intervals])
                shift = widen[None, :] * scale[o, h][:, None]  # (D, intervals)
                # An interval narrowed (scores pooled from districts of other sizes can ask
                # more than it has) closes on the median, never past it.
                middle = q[o, h, :, pairs : pairs + 1]
                result[o, h, :, :pairs][:, intervals] = np.minimum(
                    lower[o, h][:, intervals] - shift, middle
                )
                result[o, h, :, ::-1][:, :pairs][:, intervals] = np.maximum(
                    upper[o, h][:, intervals] + shift, middle
                )
    final: FloatArray = np.sort(result, axis=-1)
    return final


def _conformal_quantiles(scores: FloatArray, coverage: FloatArray) -> FloatArray:
    """Each interval's ⌈(n + 1)(1 − α)⌉-th smallest of its ``n`` scores (the largest when that
    is past ``n``): the split-conformal quantile [1]_, an order statistic of the scores, not an
    interpolation between two (which would ask a little more than the guarantee needs, and
    more at the narrow intervals, where the finite-sample step is largest relative to α).

    References
    ----------
    .. [1] Angelopoulos, A. N., & Bates, S. (2023). Conformal prediction: a gentle
       introduction. Foundations and Trends in Machine Learning 16(4), 494-591 (section 1).
    """
    n = scores.shape[0]
    # The rank, robust to (n + 1)(1 − α) landing a rounding error above a whole number.
    rank = np.minimum(np.ceil((n + 1) * coverage - 1e-9), n).astype(np.int64)
    ordered = np.sort(scores, axis=0)
    result: FloatArray = ordered[rank - 1, np.arange(scores.shape[1])]
    return result


def _nearest_scores(
    misses: FloatArray, known: npt.NDArray[np.bool_], h: int, wanted: int
) -> tuple[FloatArray, int]:
    """Scores (n, intervals) of the known forecasts at horizon ``h`` and the nearest horizons,
    added until they come from ``wanted`` forecasts (origin and horizon with at least one
    district's score), and how many forecasts they come from."""
    order = sorted(range(known.shape[1]), key=lambda k: (abs(k - h), -k))
    parts: list[FloatArray] = []
    count = 0
    for k in order:
        values = misses[known[:, k], k]  # (origins, D, intervals)
        finite = np.all(np.isfinite(values), axis=-1)
        parts.append(values[finite])
        count += int(np.any(finite, axis=-1).sum())
        if count >= wanted:
            break
    scores = np.concatenate(parts) if parts else np.empty((0, misses.shape[-1]))
    return scores, count
