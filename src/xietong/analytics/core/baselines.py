"""The baselines a forecast must beat, as quantile forecasts: persistence (the last value, no
spread) and the COVID-19 Forecast Hub's baseline (the last value, spread from past changes).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.scores import check_levels, sample_quantiles
from xietong.analytics.core.validation import as_daily_counts, check_at_least


def persistence_quantiles(
    history: npt.ArrayLike, *, horizon_days: int, levels: npt.ArrayLike
) -> FloatArray:
    """Every quantile at every horizon equal to the last value.

    Parameters
    ----------
    history : array_like, shape (T, D)
        Daily counts up to the forecast date, oldest first.

    Returns
    -------
    ndarray, shape (horizon_days, D, Q)
    """
    counts = as_daily_counts(history, name="history")
    check_at_least("horizon_days", horizon_days, 1)
    tau = check_levels(levels)
    result: FloatArray = np.broadcast_to(
        counts[-1][None, :, None], (horizon_days, counts.shape[1], tau.size)
    ).copy()
    return result


def hub_baseline_quantiles(
    history: npt.ArrayLike,
    *,
    horizon_days: int,
    levels: npt.ArrayLike,
    rng: np.random.Generator,
    samples: int = 4000,
    only: tuple[int, ...] | None = None,
) -> FloatArray:
    """The COVID-19 Forecast Hub's baseline [1]_.

    The median at every horizon is the last value. The spread comes from the first differences
    of the whole history and their negatives (so that it has no trend): a trajectory adds ``h``
    changes drawn from them with replacement, and its quantiles are shifted so that the median
    is the last value, then floored at 0.

    Parameters
    ----------
    history : array_like, shape (T, D)
        Daily counts up to the forecast date, oldest first; ``T >= 2``.
    horizon_days : int
    levels : array_like, shape (Q,)
    rng : numpy.random.Generator
    samples : int
        Trajectories drawn per district.
    only : tuple of int, optional
        The horizons (days ahead) to return, when not all of 1..horizon_days are needed.

    Returns
    -------
    ndarray, shape (horizon_days, D, Q), or (len(only), D, Q)

    References
    ----------
    .. [1] Cramer, E. Y. et al. (2022). Evaluation of individual and ensemble probabilistic
       forecasts of COVID-19 mortality in the United States. PNAS 119(15), e2113561119
       (the baseline model, its supplement section 4; covidHubBaselines).
    """
    counts = as_daily_counts(history, name="history")
    check_at_least("horizon_days", horizon_days, 1)
    check_at_least("samples", samples, 1)
    if counts.shape[0] < 2:
        raise ValueError(f"history: the baseline needs at least 2 days, got {counts.shape[0]}")
    tau = check_levels(levels)
    changes = np.diff(counts, axis=0)
    pool = np.concatenate([changes, -changes])  # (2(T-1), D)
    d = counts.shape[1]
    picks = rng.integers(pool.shape[0], size=(d, samples, horizon_days))
    paths = np.cumsum(pool.T[np.arange(d)[:, None, None], picks], axis=-1)  # (D, samples, H)
    if only is not None:
        if any(not 1 <= h <= horizon_days for h in only):
            raise ValueError(f"only: horizons must lie in 1..{horizon_days}, got {only}")
        paths = paths[..., np.asarray(only) - 1]
    q = sample_quantiles(paths.transpose(0, 2, 1), tau)  # (D, H, Q)
    q = q - q[..., tau.size // 2 : tau.size // 2 + 1]
    result: FloatArray = np.clip(counts[-1][:, None, None] + q, 0.0, None).transpose(1, 0, 2)
    return result
