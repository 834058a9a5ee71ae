"""Proper scores of quantile forecasts: the weighted interval score over the forecast hubs'
quantile levels, central interval coverage and the absolute error of the median, on the natural
or the log(x + 1) scale.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray

#: The 23 quantile levels of the COVID-19 Forecast Hubs [1]_: the median and 11 central intervals.
HUB_QUANTILE_LEVELS: tuple[float, ...] = (
    0.01,
    0.025,
    *(round(0.05 * k, 2) for k in range(1, 20)),
    0.975,
    0.99,
)


def check_levels(levels: npt.ArrayLike) -> FloatArray:
    """Quantile levels as an increasing array, symmetric about a median of 0.5."""
    tau = np.asarray(levels, dtype=np.float64)
    if tau.ndim != 1 or tau.size % 2 == 0 or not np.all(np.diff(tau) > 0):
        raise ValueError("levels: expected an odd number of strictly increasing levels")
    if np.any((tau <= 0) | (tau >= 1)) or not np.allclose(tau + tau[::-1], 1.0):
        raise ValueError("levels: must lie in (0, 1), symmetric about the median 0.5")
    return tau


def weighted_interval_score(
    quantiles: npt.ArrayLike, observed: npt.ArrayLike, *, levels: npt.ArrayLike
) -> FloatArray:
    """Weighted interval score of quantile forecasts.

    With ``K`` central intervals at levels ``1 - α_k`` and the median ``m``, the WIS is
    ``(|y - m| / 2 + Σ_k α_k / 2 · IS_α_k) / (K + 1/2)``, where ``IS_α`` is the interval score
    ``(u - l) + 2/α (l - y)_+ + 2/α (y - u)_+`` [1]_. It equals the mean pinball loss over the
    quantile levels ``Σ_τ ρ_τ(y - q_τ) / (K + 1/2)``, which is how it is computed here.

    Parameters
    ----------
    quantiles : array_like, shape (..., Q)
        Predictive quantiles at ``levels``, non-decreasing along the last axis.
    observed : array_like, shape (...)
    levels : array_like, shape (Q,)
        Odd number of increasing levels symmetric about 0.5 (e.g. ``HUB_QUANTILE_LEVELS``).

    Returns
    -------
    ndarray, shape (...)

    References
    ----------
    .. [1] Bracher, J., Ray, E. L., Gneiting, T., & Reich, N. G. (2021). Evaluating epidemic
       forecasts in an interval format. PLOS Computational Biology 17(2), e1008618.
    """
    tau = check_levels(levels)
    q, y = _shaped(quantiles, observed, tau.size)
    error = y[..., None] - q
    pinball = np.maximum(tau * error, (tau - 1.0) * error)
    result: FloatArray = pinball.sum(axis=-1) / (tau.size / 2.0)
    return result


def interval_coverage(
    quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    *,
    levels: npt.ArrayLike,
    central: float,
) -> FloatArray:
    """Whether each observation lies in the central interval of the given width (1.0 or 0.0).

    ``central`` is the interval's nominal coverage (0.5 for the quartiles, 0.9 for the 5 % and
    95 % quantiles); both of its levels must be among ``levels``. The interval is closed.
    """
    tau = check_levels(levels)
    q, y = _shaped(quantiles, observed, tau.size)
    low = _level_index(tau, (1.0 - central) / 2.0, "central")
    high = _level_index(tau, (1.0 + central) / 2.0, "central")
    inside = (q[..., low] <= y) & (y <= q[..., high])
    result: FloatArray = inside.astype(np.float64)
    return result


def median_absolute_error(
    quantiles: npt.ArrayLike, observed: npt.ArrayLike, *, levels: npt.ArrayLike
) -> FloatArray:
    """Absolute error of the predictive median."""
    tau = check_levels(levels)
    q, y = _shaped(quantiles, observed, tau.size)
    result: FloatArray = np.abs(y - q[..., tau.size // 2])
    return result


def sample_quantiles(samples: npt.ArrayLike, levels: npt.ArrayLike) -> FloatArray:
    """Quantiles of samples along the last axis, shape (..., Q).

    The same values as ``numpy.quantile(samples, levels, axis=-1)`` (linear interpolation,
    its default), from one sort of each row: much faster than its partition when the levels are
    many (23 here).
    """
    tau = np.asarray(levels, dtype=np.float64)
    ordered = np.sort(np.asarray(samples, dtype=np.float64), axis=-1)
    position = tau * (ordered.shape[-1] - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.shape[-1] - 1)
    share = position - below
    result: FloatArray = ordered[..., below] * (1 - share) + ordered[..., above] * share
    return result


def log_scale(values: npt.ArrayLike) -> FloatArray:
    """``log(x + 1)``: the scale on which forecasts of growth are scored [1]_.

    References
    ----------
    .. [1] Bosse, N. I. et al. (2023). Scoring epidemiological forecasts on transformed scales.
       PLOS Computational Biology 19(8), e1011393.
    """
    result: FloatArray = np.log1p(np.clip(np.asarray(values, dtype=np.float64), 0.0, None))
    return result


def _shaped(
    quantiles: npt.ArrayLike, observed: npt.ArrayLike, size: int
) -> tuple[FloatArray, FloatArray]:
    q = np.asarray(quantiles, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    if q.shape[-1:] != (size,) or q.shape[:-1] != y.shape:
        raise ValueError(
            f"quantiles: expected shape {(*y.shape, size)} for observed of shape {y.shape}, "
            f"got {q.shape}"
        )
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(y))):
        raise ValueError("quantiles: forecasts and observations must be finite")
    if np.any(np.diff(q, axis=-1) < 0):
        raise ValueError("quantiles: must not decrease along the levels")
    return q, y


def _level_index(tau: FloatArray, level: float, name: str) -> int:
    match = np.flatnonzero(np.isclose(tau, level))
    if match.size != 1:
        raise ValueError(f"{name}: level {level:g} is not among the quantile levels")
    return int(match[0])
