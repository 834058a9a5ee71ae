"""The phase of the outbreak in each district and in the city, as the command centre reads it.

Owns the rules that turn a growth rate (with its confidence interval), Rt (with its credible
interval) and the run of days without a surface case into one of five phases:

``surface_zero``
    No surface case (社會面, found outside control) for at least ``surface_zero_days``
    consecutive days, 3 by default (the policy's 社會面清零). Checked first: it is the goal the
    command centre drives each district to, and cases still found under control do not undo it.
``rapid_growth``
    The growth rate is surely positive (lower confidence bound of r > 0) and the doubling time
    ln 2 / r is shorter than ``rapid_doubling_days``, 7 by default: cases at least double every
    week, r > 0.099 a day. With the Omicron serial interval (gamma, mean 3.0, sd 1.5 days) that
    is Rt above about 1.33 by the Wallinga-Lipsitch relation R = (1 + r σ²/μ)^(μ²/σ²).
``growth``
    Growth is established by either measure, but not rapid: lower bound of r > 0, or the
    lower end (2.5 %) of Rt's 95 % credible interval > 1.
``decline``
    Decline is established by either measure and growth by neither: upper bound of r < 0, or
    the upper end (97.5 %) of Rt's credible interval < 1.
``plateau``
    Neither: the interval of r straddles 0 and Rt's credible interval straddles 1 (or a
    measure is not available, e.g. Rt before the serial interval has elapsed).

When the two measures disagree (r surely positive while Rt is surely below 1, as happens at a
turning point) growth wins: a command centre that misses a rise loses days, one that misses a
fall loses little. Every threshold is an argument, so the policy file can override it.
`docs/analytics-phases.md` explains the choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import IntArray
from xietong.analytics.core.growth import (
    DEFAULT_GROWTH_WINDOW_DAYS,
    GrowthEstimate,
    estimate_growth_rate,
)
from xietong.analytics.core.rt import (
    DEFAULT_WINDOW_DAYS,
    RtEstimate,
    estimate_rt,
)
from xietong.analytics.core.validation import as_district_matrix

__all__ = [
    "DEFAULT_RAPID_DOUBLING_DAYS",
    "DEFAULT_SURFACE_ZERO_DAYS",
    "Phase",
    "SituationPhases",
    "classify_latest",
    "classify_phase",
    "days_without_surface_case",
    "situation_phases",
]

PhaseArray = npt.NDArray[np.str_]

DEFAULT_SURFACE_ZERO_DAYS: Final = 3
DEFAULT_RAPID_DOUBLING_DAYS: Final = 7.0


class Phase(StrEnum):
    """The phase of the outbreak in one district or in the city."""

    RAPID_GROWTH = "rapid_growth"
    GROWTH = "growth"
    PLATEAU = "plateau"
    DECLINE = "decline"
    SURFACE_ZERO = "surface_zero"


@dataclass(frozen=True, eq=False)
class SituationPhases:
    """Phase of every district and of the city on the last day, with the evidence behind it.

    Attributes
    ----------
    district_phase : numpy.ndarray of str, shape (D,)
        Values of `Phase`.
    city_phase : Phase
        Phase of the city, from the sum of the districts' cases.
    district_growth, city_growth : GrowthEstimate
        Growth rates of the districts (D rows) and of the city (one row).
    district_rt, city_rt : RtEstimate
        Rt of the districts and of the city.
    district_days_without_surface_case : numpy.ndarray of int, shape (D,)
        Consecutive days, up to the last, without a surface case.
    city_days_without_surface_case : int
        The same for the city as a whole.
    """

    district_phase: PhaseArray
    city_phase: Phase
    district_growth: GrowthEstimate
    district_rt: RtEstimate
    city_growth: GrowthEstimate
    city_rt: RtEstimate
    district_days_without_surface_case: IntArray
    city_days_without_surface_case: int


def days_without_surface_case(surface_cases: npt.ArrayLike) -> IntArray:
    """Count, per district, the consecutive days up to the last one without a surface case.

    Parameters
    ----------
    surface_cases : array_like, shape (D, T) or (T,)
        Surface cases per district and day, oldest first.

    Returns
    -------
    numpy.ndarray of int, shape (D,)
        0 when the last day had a surface case; T when no day had one (the true run may be
        longer than the data shows).
    """
    cases = as_district_matrix(surface_cases, name="surface_cases")
    days = cases.shape[1]
    had_case = cases[:, ::-1] > 0
    since_last = np.argmax(had_case, axis=1).astype(np.int64)
    return np.where(had_case.any(axis=1), since_last, np.int64(days))


def classify_phase(
    *,
    growth_rate: npt.ArrayLike,
    growth_rate_lower: npt.ArrayLike,
    growth_rate_upper: npt.ArrayLike,
    rt_lower: npt.ArrayLike,
    rt_upper: npt.ArrayLike,
    days_without_surface_case: npt.ArrayLike,
    surface_zero_days: int = DEFAULT_SURFACE_ZERO_DAYS,
    rapid_doubling_days: float = DEFAULT_RAPID_DOUBLING_DAYS,
) -> PhaseArray:
    """Classify each element into a `Phase` by the rules of this module's docstring.

    All array arguments broadcast together, so one call classifies districts, days or both.

    Parameters
    ----------
    growth_rate, growth_rate_lower, growth_rate_upper : array_like
        Growth rate r per day and its confidence interval (`GrowthEstimate`).
    rt_lower, rt_upper : array_like
        Ends of Rt's 95 % credible interval (`RtEstimate.lower`, `RtEstimate.upper`); NaN
        where Rt is not available.
    days_without_surface_case : array_like of int
        Consecutive days without a surface case, up to the day classified.
    surface_zero_days : int
        Days without a surface case that make surface zero (policy: 3).
    rapid_doubling_days : float
        Doubling time, in days, below which growth is rapid.

    Returns
    -------
    numpy.ndarray of str
        Values of `Phase`, in the broadcast shape of the arguments.

    References
    ----------
    .. [1] Wallinga J, Lipsitch M. How generation intervals shape the relationship between
       growth rates and reproductive numbers. Proc R Soc B 2007;274(1609):599-604.
       doi:10.1098/rspb.2006.3754
    """
    if isinstance(surface_zero_days, bool) or not isinstance(surface_zero_days, int | np.integer):
        raise ValueError(f"surface_zero_days must be an integer, got {surface_zero_days!r}")
    if surface_zero_days < 1:
        raise ValueError(f"surface_zero_days must be >= 1, got {surface_zero_days}")
    if not (math.isfinite(rapid_doubling_days) and rapid_doubling_days > 0):
        raise ValueError(
            f"rapid_doubling_days must be a finite number > 0, got {rapid_doubling_days}"
        )

    rate, rate_lower, rate_upper, r_lower, r_upper, zero_days = np.broadcast_arrays(
        *(
            np.asarray(value, dtype=np.float64)
            for value in (
                growth_rate,
                growth_rate_lower,
                growth_rate_upper,
                rt_lower,
                rt_upper,
                days_without_surface_case,
            )
        )
    )
    if np.any(np.isnan(zero_days)) or np.any(zero_days < 0):
        raise ValueError("days_without_surface_case must be non-negative whole days")

    surely_growing = (rate_lower > 0) | (r_lower > 1)
    surely_falling = (rate_upper < 0) | (r_upper < 1)
    rapid = (rate_lower > 0) & (rate > math.log(2.0) / rapid_doubling_days)
    phases = np.select(
        [zero_days >= surface_zero_days, rapid, surely_growing, surely_falling],
        [
            Phase.SURFACE_ZERO.value,
            Phase.RAPID_GROWTH.value,
            Phase.GROWTH.value,
            Phase.DECLINE.value,
        ],
        default=Phase.PLATEAU.value,
    )
    return np.asarray(phases, dtype=np.str_)


def classify_latest(
    *,
    growth: GrowthEstimate,
    rt: RtEstimate,
    days_without_surface_case: npt.ArrayLike,
    surface_zero_days: int = DEFAULT_SURFACE_ZERO_DAYS,
    rapid_doubling_days: float = DEFAULT_RAPID_DOUBLING_DAYS,
) -> PhaseArray:
    """Classify each district on the last day that both estimates cover.

    Parameters
    ----------
    growth : GrowthEstimate
        Growth rates of D districts.
    rt : RtEstimate
        Rt of the same D districts, ending on the same day.
    days_without_surface_case : array_like of int, shape (D,) or scalar
        Consecutive days without a surface case, up to that day.
    surface_zero_days, rapid_doubling_days
        As in `classify_phase`.
    city_cases : array_like, shape (T,), optional
        The city's own series (a published city-wide count may include units not broken
        down); by default the sum of the districts'.

    Returns
    -------
    numpy.ndarray of str, shape (D,)
        Values of `Phase`.
    """
    if growth.rate.shape[0] != rt.mean.shape[0]:
        raise ValueError(
            f"growth has {growth.rate.shape[0]} districts but rt has {rt.mean.shape[0]}"
        )
    if growth.t_end[-1] != rt.t_end[-1]:
        raise ValueError(
            f"growth ends on day {growth.t_end[-1]} but rt on day {rt.t_end[-1]}: "
            "estimate both from the same days"
        )
    return classify_phase(
        growth_rate=growth.rate[:, -1],
        growth_rate_lower=growth.rate_lower[:, -1],
        growth_rate_upper=growth.rate_upper[:, -1],
        rt_lower=rt.lower[:, -1],
        rt_upper=rt.upper[:, -1],
        days_without_surface_case=days_without_surface_case,
        surface_zero_days=surface_zero_days,
        rapid_doubling_days=rapid_doubling_days,
    )


def situation_phases(
    *,
    cases: npt.ArrayLike,
    surface_cases: npt.ArrayLike,
    serial_interval: npt.ArrayLike,
    growth_window_days: int = DEFAULT_GROWTH_WINDOW_DAYS,
    rt_window_days: int = DEFAULT_WINDOW_DAYS,
    surface_zero_days: int = DEFAULT_SURFACE_ZERO_DAYS,
    rapid_doubling_days: float = DEFAULT_RAPID_DOUBLING_DAYS,
    city_cases: npt.ArrayLike | None = None,
) -> SituationPhases:
    """Phase of every district and of the city on the last day of the data.

    The city's series is the sum of its districts' (a case carried from one district to
    another is local to the city) unless given as `city_cases`, and its days without a surface
    case are the days since the last surface case anywhere.

    Parameters
    ----------
    cases : array_like, shape (D, T)
        New local infections per district and day, oldest first.
    surface_cases : array_like, shape (D, T)
        Of those, the cases found on the surface (outside control).
    serial_interval : array_like
        w_0, w_1, ... for Rt, e.g. `omicron_serial_interval()`.
    growth_window_days, rt_window_days : int
        Windows of the growth fit and of Rt (7 days each by default).
    surface_zero_days, rapid_doubling_days
        As in `classify_phase`.

    Returns
    -------
    SituationPhases
        The phases and the estimates they were read from.
    """
    district_cases = as_district_matrix(cases, name="cases")
    district_surface = as_district_matrix(surface_cases, name="surface_cases")
    if district_surface.shape != district_cases.shape:
        raise ValueError(
            f"surface_cases must have the shape of cases {district_cases.shape}, "
            f"got {district_surface.shape}"
        )
    if city_cases is None:
        city_series = district_cases.sum(axis=0, keepdims=True)
    else:
        city_series = as_district_matrix(
            np.asarray(city_cases, dtype=np.float64)[np.newaxis, :], name="city_cases"
        )
        if city_series.shape[1] != district_cases.shape[1]:
            raise ValueError(
                f"city_cases must have {district_cases.shape[1]} days, got {city_series.shape[1]}"
            )

    district_growth = estimate_growth_rate(district_cases, window_days=growth_window_days)
    district_rt = estimate_rt(
        district_cases, serial_interval=serial_interval, window_days=rt_window_days
    )
    city_growth = estimate_growth_rate(city_series, window_days=growth_window_days)
    city_rt = estimate_rt(city_series, serial_interval=serial_interval, window_days=rt_window_days)

    district_zero_days = days_without_surface_case(district_surface)
    city_zero_days = int(days_without_surface_case(district_surface.sum(axis=0))[0])
    district_phase = classify_latest(
        growth=district_growth,
        rt=district_rt,
        days_without_surface_case=district_zero_days,
        surface_zero_days=surface_zero_days,
        rapid_doubling_days=rapid_doubling_days,
    )
    city_phase = classify_latest(
        growth=city_growth,
        rt=city_rt,
        days_without_surface_case=city_zero_days,
        surface_zero_days=surface_zero_days,
        rapid_doubling_days=rapid_doubling_days,
    )
    return SituationPhases(
        district_phase=district_phase,
        city_phase=Phase(str(city_phase[0])),
        district_growth=district_growth,
        district_rt=district_rt,
        city_growth=city_growth,
        city_rt=city_rt,
        district_days_without_surface_case=district_zero_days,
        city_days_without_surface_case=city_zero_days,
    )
