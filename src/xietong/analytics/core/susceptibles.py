"""The susceptibles a forecast of new infections may not exceed: one convention for every reader
of the forecast (the pages, the mutual-aid demand), so that the same history is capped the same
way wherever it is shown or planned on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray, freeze_arrays
from xietong.analytics.core.validation import as_daily_counts


@dataclass(frozen=True, eq=False)
class SusceptiblesLeft:
    """Who can still be infected, per district (shape (D,)) and in the city; ``inf`` where there
    is no cap (no census population)."""

    districts: FloatArray
    city: float

    def __post_init__(self) -> None:
        freeze_arrays(self)


def susceptibles_left(population: npt.ArrayLike, *, infections: npt.ArrayLike) -> SusceptiblesLeft:
    """Each district's susceptibles on the last day read, and the city's.

    A district with a census population holds its population less the infections of the days
    read, at least 0: an upper bound, since earlier infections are not read, so the cap is never
    too low. A district without one (NaN or not positive: a functional zone, whose residents are
    counted in its host) has no cap. The city holds the sum over the districts with a
    population; none with one, no cap. A forecast extrapolated from the counts alone can pass
    them (a growing series, or a band widened by recalibration), hence `capped`.

    Parameters
    ----------
    population : array_like, shape (D,)
        Census residents per district; NaN where there is none.
    infections : array_like, shape (T, D)
        New infections of the days read, oldest first.

    Returns
    -------
    SusceptiblesLeft
    """
    counts = as_daily_counts(infections, name="infections")
    residents = np.asarray(population, dtype=np.float64)
    if residents.shape != (counts.shape[1],):
        raise ValueError(
            f"population: expected shape {(counts.shape[1],)} (one per district), "
            f"got {residents.shape}"
        )
    known = np.isfinite(residents) & (residents > 0)
    left = np.clip(np.where(known, residents, 0.0) - counts.sum(axis=0), 0.0, None)
    city = float(left[known].sum()) if known.any() else np.inf
    return SusceptiblesLeft(districts=np.where(known, left, np.inf), city=city)


def capped(forecast: npt.ArrayLike, *, susceptible: npt.ArrayLike) -> FloatArray:
    """Every value of a forecast at most its unit's susceptibles.

    Parameters
    ----------
    forecast : array_like, shape (T, D) or (T, D, Q)
        Days ahead, units (districts, or the city alone) and, optionally, quantile levels.
    susceptible : array_like, shape (D,)
        Each unit's susceptibles (`susceptibles_left`); ``inf``: no cap.

    Returns
    -------
    ndarray, the shape of ``forecast``
    """
    values = np.asarray(forecast, dtype=np.float64)
    cap = np.asarray(susceptible, dtype=np.float64)
    if values.ndim not in (2, 3) or cap.shape != (values.shape[1],):
        raise ValueError(
            f"susceptible: expected one per unit of a forecast of shape (days, units[, levels]), "
            f"got {cap.shape} for {values.shape}"
        )
    if np.any(np.isnan(cap)) or np.any(cap < 0):
        raise ValueError("susceptible: must be non-negative (inf: no cap)")
    result: FloatArray = np.minimum(values, cap.reshape((1, -1) + (1,) * (values.ndim - 2)))
    return result
