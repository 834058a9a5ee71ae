"""Recalibration of quantile forecasts from the errors of the forecasts made before: normalised
conformal prediction on the log scale, using only forecasts whose target day had already come
by the new forecast date (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray, IntArray
from xietong.analytics.core.scores import check_levels
from xietong.analytics.core.validation import check_at_least, check_positive


def recalibrate(
    model_quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    *,
    origin_days: npt.ArrayLike,
    levels: npt.ArrayLike,
    lookback_days: int = 56,
    min_scores: int = 30,
    min_spread: float = 0.05,
) -> FloatArray:
    """Quantiles on the log scale set from the past errors of the same forecaster.

    For every forecast (origin ``o``, horizon ``h``, district ``d``) the normalised error is
    ``z = (y - m) / s``, with ``m`` the model's median and ``s`` its interquartile range, all on
    the ``log(x + 1)`` scale (``s`` at least ``min_spread``). A new forecast from origin ``t``
    uses the errors of forecasts whose target day ``o + h`` is at most ``t`` and whose origin is
    within the last ``lookback_days`` days: its quantile at level τ is ``m + s · Q_τ(z)``
    [1]_ [2]_. Errors come from the same horizon and every district first; horizons nearest to
    ``h`` are added until there are ``min_scores`` of them. So the band widens with the horizon
    as the model's own spread does, and by as much as past errors at that horizon say. With
    fewer than ``min_scores`` errors the model's own quantiles are kept.

    Parameters
    ----------
    model_quantiles : array_like, shape (O, H, D, Q)
        The model's quantiles on the log(x + 1) scale, horizons 1..H.
    observed : array_like, shape (O, H, D)
        What came on each target day (log(x + 1) scale), NaN where the day is past the data.
    origin_days : array_like of int, shape (O,)
        Day number of each origin, increasing.
    levels : array_like, shape (Q,)

    Returns
    -------
    ndarray, shape (O, H, D, Q)

    References
    ----------
    .. [1] Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., & Wasserman, L. (2018).
       Distribution-free predictive inference for regression. JASA 113(523), 1094-1111
       (locally weighted conformal inference).
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
    check_at_least("lookback_days", lookback_days, 1)
    check_at_least("min_scores", min_scores, 1)
    check_positive("min_spread", min_spread)
    mid = tau.size // 2
    low, high = int(np.argmin(np.abs(tau - 0.25))), int(np.argmin(np.abs(tau - 0.75)))
    median = q[..., mid]
    # One scale for every district of an origin and horizon (their median spread): a district's
    # own spread, tiny where it had no case, would turn a small miss into a huge normalised error.
    own = np.maximum(q[..., high] - q[..., low], min_spread)
    spread = np.broadcast_to(np.median(own, axis=2, keepdims=True), own.shape)
    z = (y - median) / spread
    horizons = q.shape[1]
    target = days[:, None] + np.arange(1, horizons + 1)[None, :]  # (O, H)
    result = q.copy()
    for o, day in enumerate(days):
        known = (target <= day) & (days[:, None] >= day - lookback_days)  # (O, H)
        for h in range(horizons):
            scores = _nearest_scores(z, known, h, min_scores)
            if scores.size < min_scores:
                continue
            shift = np.sign(tau - 0.5) * np.quantile(np.abs(scores), np.abs(2 * tau - 1))
            result[o, h] = median[o, h][:, None] + spread[o, h][:, None] * shift[None, :]
    return result


def _nearest_scores(z: FloatArray, known: npt.NDArray[np.bool_], h: int, wanted: int) -> FloatArray:
    order = sorted(range(known.shape[1]), key=lambda k: (abs(k - h), -k))
    parts: list[FloatArray] = []
    count = 0
    for k in order:
        values = z[known[:, k], k].ravel()
        values = values[np.isfinite(values)]
        parts.append(values)
        count += values.size
        if count >= wanted:
            break
    return np.concatenate(parts) if parts else np.empty(0)
