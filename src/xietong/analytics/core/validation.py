"""Checks of the arguments of the numerics: each error names the argument, the rule it broke and
the value it had, so that a caller can tell which input to fix. Series of counts come in two
orientations: (districts, days) for the trend (`as_district_matrix`), (days, districts) for the
forecasts and backtests (`as_daily_counts`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray


def check_probability(name: str, value: float) -> None:
    """Refuse a probability outside [0, 1] (or not finite)."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {value}")


def check_at_least(name: str, value: int, minimum: int) -> None:
    """Refuse a whole number below ``minimum``."""
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")


def check_positive(name: str, value: float) -> None:
    """Refuse a number that is not finite and strictly positive."""
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be positive, got {value}")


def as_district_matrix(values: npt.ArrayLike, *, name: str) -> FloatArray:
    """Check daily counts and return them as a float (districts × days) array.

    Parameters
    ----------
    values : array_like, shape (D, T) or (T,)
        Non-negative, finite counts; a 1-D series becomes one district.
    name : str
        The caller's argument name, used in error messages.

    Returns
    -------
    numpy.ndarray, shape (D, T)
        A float64 array (a copy when the input was not already float64).
    """
    try:
        matrix = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    if matrix.ndim != 2:
        raise ValueError(f"{name} must have shape (districts, days) or (days,), got {matrix.shape}")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{name} must have at least one district and one day, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN: report 0 cases)")
    if np.any(matrix < 0):
        district, day = (int(i) for i in np.argwhere(matrix < 0)[0])
        raise ValueError(
            f"{name} must be non-negative, got {matrix[district, day]} "
            f"for district {district} on day {day + 1}"
        )
    return matrix


def as_daily_counts(values: npt.ArrayLike, *, name: str, min_days: int = 1) -> FloatArray:
    """Daily counts of shape (days, districts): finite, non-negative, at least ``min_days``."""
    counts = np.asarray(values, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] < min_days or counts.shape[1] < 1:
        raise ValueError(
            f"{name}: expected shape (days >= {min_days}, districts), got {counts.shape}"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"{name}: counts must be finite and non-negative")
    return counts
