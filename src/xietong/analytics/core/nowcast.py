"""Nowcasts of the last days' counts that are still being reported: the chain-ladder on the
reporting triangle (day of sampling x days until reported), with a band from the errors the same
method made on the triangles of earlier days.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.validation import check_at_least


@dataclass(frozen=True)
class Nowcast:
    """Counts per reference day: what is reported so far and the estimate of the final count.

    ``reported``, ``expected``, ``lower`` and ``upper`` have shape (..., T) (the triangles');
    ``lower`` and ``upper`` are the quantiles at ``levels`` of the final count (equal to
    ``reported`` for complete days).
    """

    reported: FloatArray
    expected: FloatArray
    lower: FloatArray
    upper: FloatArray
    levels: tuple[float, float]


def chain_ladder(triangle: npt.ArrayLike) -> FloatArray:
    """Final counts per reference day by the chain-ladder method [1]_.

    Parameters
    ----------
    triangle : array_like, shape (..., T, D)
        ``triangle[t, d]``: counts of reference day ``t`` reported ``d`` days later; NaN where
        ``t + d`` is past the last day known (the lower right triangle). Leading axes are
        separate triangles (districts), each with its own factors.

    Returns
    -------
    ndarray, shape (..., T)
        Reported counts extended by the development factors
        ``f_d = Σ_t C[t, d + 1] / Σ_t C[t, d]`` of the cumulative counts ``C``, estimated on the
        rows where both are known.

    References
    ----------
    .. [1] Mack, T. (1993). Distribution-free calculation of the standard error of chain ladder
       reserve estimates. ASTIN Bulletin 23(2), 213-225; as used for epidemic nowcasts by the
       baselinenowcast package of the epinowcast community.
    """
    counts = _triangle(triangle)
    known = ~np.isnan(counts)
    cumulative = np.where(known, np.cumsum(np.nan_to_num(counts), axis=-1), 0.0)
    delays = counts.shape[-1]
    last_known = known.sum(axis=-1) - 1  # index of the last known delay per row
    at = np.maximum(last_known, 0)[..., None]
    estimate = np.take_along_axis(cumulative, at, axis=-1)[..., 0]
    estimate = np.where(last_known >= 0, estimate, 0.0)
    for d in range(delays - 1):
        both = known[..., d + 1]
        below = np.where(both, cumulative[..., d], 0.0).sum(axis=-1)
        above = np.where(both, cumulative[..., d + 1], 0.0).sum(axis=-1)
        factor = np.where(below > 0, above / np.where(below > 0, below, 1.0), 1.0)
        estimate = np.where(last_known <= d, estimate * factor[..., None], estimate)
    result: FloatArray = estimate
    return result


def nowcast(
    triangle: npt.ArrayLike,
    *,
    levels: tuple[float, float] = (0.05, 0.95),
    past_days: int = 28,
) -> Nowcast:
    """Chain-ladder nowcast with a band from its own past errors.

    For each of the last ``past_days`` days ``s`` whose rows are now complete, the triangle is cut
    back to what was known at the end of ``s`` and nowcast again; the final count less that
    nowcast, for a row ``k`` days before ``s``, divided by ``sqrt(still to come + 1)`` (counts
    still to come vary about as a Poisson count does), is one past error at ``k`` days back.
    Today's nowcast at ``k`` days back is banded by the quantiles of those errors, scaled back.

    Parameters
    ----------
    triangle : array_like, shape (..., T, D)
        As in `chain_ladder`; leading axes are separate triangles, each banded by its own
        errors (the arrays of the result then have those axes too).
    levels : (float, float)
        Lower and upper quantile levels of the band.
    past_days : int
        Earlier days whose nowcasts are compared with what came.
    """
    counts = _triangle(triangle)
    check_at_least("past_days", past_days, 1)
    low, high = levels
    if not 0 < low < high < 1:
        raise ValueError(f"levels: expected 0 < lower < upper < 1, got {levels}")
    rows, delays = counts.shape[-2:]
    reported = np.nansum(counts, axis=-1)
    expected = chain_ladder(counts)
    complete = ~np.isnan(counts[..., -1])
    errors: list[list[FloatArray]] = [[] for _ in range(delays)]
    day = np.arange(rows)[:, None] + np.arange(delays)[None, :]
    for cut in range(rows - delays, max(rows - delays - past_days, delays) - 1, -1):
        then = np.where(day <= cut, counts, np.nan)[..., : cut + 1, :]
        estimate = chain_ladder(then)
        so_far = np.nansum(then, axis=-1)
        for back in range(delays - 1):
            t = cut - back
            if t >= 0 and complete[..., t].any():
                error = (reported[..., t] - estimate[..., t]) / _scale(
                    estimate[..., t] - so_far[..., t]
                )
                errors[back].append(np.where(complete[..., t], error, np.nan))
    lower, upper = expected.copy(), expected.copy()
    for back in range(delays - 1):
        t = rows - 1 - back
        if t < 0 or not errors[back]:
            continue
        past = np.stack(errors[back], axis=-1)
        seen = ~np.all(np.isnan(past), axis=-1)
        if np.all(seen) and not np.isnan(past).any():
            quantiles = np.quantile(past, [low, high], axis=-1)  # the usual case, far quicker
        else:
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a triangle with no past error
                quantiles = np.nanquantile(past, [low, high], axis=-1)
        scale = _scale(expected[..., t] - reported[..., t])
        floor = reported[..., t]
        lower[..., t] = np.where(
            seen, np.maximum(expected[..., t] + quantiles[0] * scale, floor), lower[..., t]
        )
        upper[..., t] = np.where(
            seen, np.maximum(expected[..., t] + quantiles[1] * scale, floor), upper[..., t]
        )
    lower = np.minimum(lower, expected)
    upper = np.maximum(upper, expected)
    return Nowcast(reported=reported, expected=expected, lower=lower, upper=upper, levels=levels)


def _scale(still_to_come: npt.ArrayLike) -> FloatArray:
    # Counts still to come vary about as a Poisson count does: errors are compared per unit of
    # its standard deviation, so that days of 20 and of 2,000 cases teach the same band.
    scale: FloatArray = np.sqrt(np.maximum(np.asarray(still_to_come, dtype=np.float64), 0.0) + 1.0)
    return scale


def _triangle(triangle: npt.ArrayLike) -> FloatArray:
    counts = np.asarray(triangle, dtype=np.float64)
    if counts.ndim < 2 or counts.shape[-1] < 2:
        raise ValueError(f"triangle: expected shape (days, delays >= 2), got {counts.shape}")
    finite = counts[~np.isnan(counts)]
    if np.any(~np.isfinite(finite)) or np.any(finite < 0):
        raise ValueError("triangle: counts must be non-negative (NaN where not yet reported)")
    return counts
