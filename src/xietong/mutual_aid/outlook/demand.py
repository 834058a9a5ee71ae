"""What each district will need, day by day: beds for new cases and contacts, tubes for screening.

Owns the projection of new cases (a forecast stated by the caller, else the growth forecast the
backtests score, recalibrated by its own misses) and the arithmetic that turns arrivals and the
policy's durations into beds in use each day. Pure: no database; the service feeds it the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.growth import LOG_OFFSET, estimate_growth_rate
from xietong.analytics.core.growth_forecast import GrowthModel
from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS
from xietong.analytics.core.susceptibles import capped, susceptibles_left
from xietong.resources.vocabulary import (
    CENTRALISED_QUARANTINE_BED,
    HOME_ISOLATION_PLACE,
    LAB_TUBE,
    MAKESHIFT_HOSPITAL_BED,
)

__all__ = [
    "PLANNED_RESOURCES",
    "QUANTILE_RUNS",
    "QUANTILE_SEED",
    "DemandProjection",
    "Projection",
    "ProjectionSource",
    "StayRules",
    "at_quantile",
    "in_use",
    "project_demand",
    "project_forecast_read",
    "project_new_cases",
    "whole_arrivals",
]

FloatArray = npt.NDArray[np.float64]

PLANNED_RESOURCES = (CENTRALISED_QUARANTINE_BED, MAKESHIFT_HOSPITAL_BED, LAB_TUBE)

# `growth_recalibrated`: the recalibrated growth forecast read at a quantile, as the forecast page
# shows it; `trend`: its mean path without a quantile. Plans stored before every district was
# read this way may still say `forecast_model` (the transmission model's ensemble).
ProjectionSource = Literal["forecast_given", "growth_recalibrated", "trend", "recent_mean", "none"]

# Growth beyond this per day is read as noise in a short window (0.5 doubles in 1.4 days; the
# reference outbreak doubled in about two days): the same clip the forecast's calibration uses.
DEFAULT_MAX_GROWTH_RATE = 0.5
DEFAULT_TREND_WINDOW_DAYS = 7
# Runs drawn when demand is read at a quantile of the forecast, and their fixed seed: the same
# counts give the same plan, and 400 runs put the upper quartile within about 2 % of its value.
# The backtests' and the forecast page's runs and seed (`analytics.expected`): the same history
# gives the quantiles they show and score.
QUANTILE_RUNS = 400
QUANTILE_SEED = 0


@dataclass(frozen=True, kw_only=True)
class StayRules:
    """How long each arrival keeps its place.

    ``centralised_quarantine_days`` and ``home_isolation_days`` come from the policy in force
    (close contacts); ``case_stay_days`` is the planning assumption for a case's stay in a
    makeshift hospital, which the policy does not fix (cases leave on clinical criteria).
    """

    centralised_quarantine_days: int
    home_isolation_days: int
    case_stay_days: int

    def __post_init__(self) -> None:
        for name in ("centralised_quarantine_days", "home_isolation_days", "case_stay_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: must be a whole number of days >= 0, got {value!r}")

    def stay_days(self, resource: str) -> int:
        """Days one arrival keeps a unit of `resource` (at least 1: a tube is used once)."""
        stays = {
            CENTRALISED_QUARANTINE_BED: self.centralised_quarantine_days,
            MAKESHIFT_HOSPITAL_BED: self.case_stay_days,
            HOME_ISOLATION_PLACE: self.home_isolation_days,
            LAB_TUBE: 1,
        }
        return max(1, stays[resource])


@dataclass(frozen=True, eq=False, kw_only=True)
class Projection:
    """New cases per district and day over the horizon, and where the numbers come from."""

    new_cases: FloatArray  # (D, T)
    source: ProjectionSource
    growth_rate: FloatArray | None  # (D,), per day, when a trend was fitted
    # The forecast's level the counts are read at (the policy's `mutual_aid.demand_quantile`);
    # None when they are the mean path, a stated forecast or a recent mean.
    quantile: float | None = None


def project_new_cases(
    recent: npt.ArrayLike,
    *,
    horizon_days: int,
    forecast_given: npt.ArrayLike | None = None,
    population: npt.ArrayLike | None = None,
    window_days: int = DEFAULT_TREND_WINDOW_DAYS,
    max_growth_rate: float = DEFAULT_MAX_GROWTH_RATE,
    quantile: float | None = None,
) -> Projection:
    """New cases per district and day for the next `horizon_days` days.

    In order of preference:

    1. ``forecast_given`` (shape (D, T)): a forecast made elsewhere, used as it is.
    2. With ``quantile`` (the policy's ``mutual_aid.demand_quantile``) and at least three days
       known, for every district: the growth forecast that the backtests score
       (`analytics.core.growth_forecast`, a damped trend with its fitting error and the counts'
       noise) recalibrated by its own past misses over ``recent``
       (`analytics.core.recalibrated`), `QUANTILE_RUNS` runs from a fixed seed, read at that
       level per district and day: the forecast the forecast page shows (`analytics.expected`).
    3. Without ``quantile``, the recent trend's mean path: the growth rate of
       `xietong.analytics.core.growth` over the last ``window_days`` days (at least three),
       clipped to ``±max_growth_rate``, extended from the fitted level of the last day:
       ``exp(level + r k) - 0.5`` on the ``k``-th day ahead.
    4. With one or two days known, their mean each day; with none, no new case.

    Except a forecast given, each day's new cases of a district are at most its susceptibles
    (`analytics.core.susceptibles`, as `analytics.expected` caps the pages' forecast): with a
    ``population``, the population less the cases of ``recent``; without one (NaN: a
    functional zone counted in its host), no cap.

    Parameters
    ----------
    recent : array_like, shape (D, H)
        New cases per district on the last ``H`` days, oldest first.
    horizon_days : int
    forecast_given : array_like, shape (D, T), optional
    population : array_like, shape (D,), optional
        Residents per district, NaN where unknown.
    window_days : int
    max_growth_rate : float
    quantile : float, optional
        Level in (0, 1) the forecast is read at; None for the trend's mean path.

    Returns
    -------
    Projection
    """
    counts = np.asarray(recent, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"recent: expected shape (districts, days), got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("recent: counts must be finite and non-negative")
    if horizon_days < 1:
        raise ValueError(f"horizon_days: must be at least 1, got {horizon_days}")
    if quantile is not None and not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile: must lie strictly between 0 and 1, got {quantile}")
    n_d, known = counts.shape
    if forecast_given is not None:
        given = np.asarray(forecast_given, dtype=np.float64)
        if given.shape != (n_d, horizon_days):
            raise ValueError(
                f"forecast_given: expected shape {(n_d, horizon_days)}, got {given.shape}"
            )
        if not np.all(np.isfinite(given)) or np.any(given < 0):
            raise ValueError("forecast_given: must be finite and non-negative")
        return Projection(new_cases=given, source="forecast_given", growth_rate=None)
    if known == 0:
        return Projection(new_cases=np.zeros((n_d, horizon_days)), source="none", growth_rate=None)
    residents = np.full(n_d, np.nan) if population is None else population
    left = susceptibles_left(residents, infections=counts.T).districts

    def within(projected: FloatArray) -> FloatArray:
        result: FloatArray = capped(projected.T, susceptible=left).T
        return result

    if known < 3:
        mean = np.repeat(counts.mean(axis=1)[:, None], horizon_days, axis=1)
        return Projection(new_cases=within(mean), source="recent_mean", growth_rate=None)
    window = min(window_days, known)
    fitted = estimate_growth_rate(counts[:, -window:], window_days=window)
    rate = np.clip(fitted.rate[:, -1], -max_growth_rate, max_growth_rate)
    if quantile is not None:
        tuned = _trend_quantile(counts, window=window, horizon_days=horizon_days, quantile=quantile)
        return Projection(
            new_cases=within(tuned),
            source="growth_recalibrated",
            growth_rate=rate,
            quantile=quantile,
        )
    log_counts = np.log(counts[:, -window:] + LOG_OFFSET)
    # The least-squares line passes through the window's mean at its middle day.
    last_level = log_counts.mean(axis=1) + rate * (window - 1) / 2.0
    ahead = np.arange(1, horizon_days + 1, dtype=np.float64)
    trend = np.maximum(
        np.exp(last_level[:, None] + rate[:, None] * ahead[None, :]) - LOG_OFFSET, 0.0
    )
    return Projection(new_cases=within(trend), source="trend", growth_rate=rate)


def _trend_quantile(
    counts: FloatArray, *, window: int, horizon_days: int, quantile: float
) -> FloatArray:
    """The growth forecast's ``quantile`` per district and day, shape (D, T): the backtested
    forecast, recalibrated by the misses of the forecasts it would have made from the earlier
    days of ``counts`` (`analytics.core.recalibrated`), read between the forecast hubs' levels."""
    tuned = recalibrated_quantiles(
        counts.T,
        horizon_days=horizon_days,
        runs=QUANTILE_RUNS,
        rng=np.random.default_rng(QUANTILE_SEED),
        model=GrowthModel(window_days=window),
    )  # (T, D, Q)
    return at_quantile(tuned, quantile=quantile)


def at_quantile(quantiles: FloatArray, *, quantile: float) -> FloatArray:
    """A forecast at the backtests' levels (`HUB_QUANTILE_LEVELS`, shape (T, D, Q)) read at
    ``quantile``, shape (D, T): at one of those levels, its values exactly (0.75, the policy's
    default, is one); between two, linear; outside 1 % - 99 %, the nearest."""
    levels = np.asarray(HUB_QUANTILE_LEVELS)
    if quantiles.ndim != 3 or quantiles.shape[-1] != levels.size:
        raise ValueError(
            f"quantiles: expected shape (days, districts, {levels.size}), got {quantiles.shape}"
        )
    j = int(np.clip(np.searchsorted(levels, quantile, side="right") - 1, 0, levels.size - 2))
    share = float(np.clip((quantile - levels[j]) / (levels[j + 1] - levels[j]), 0.0, 1.0))
    result: FloatArray = (quantiles[..., j] * (1.0 - share) + quantiles[..., j + 1] * share).T
    return result


def project_forecast_read(
    quantiles: npt.ArrayLike, *, horizon_days: int, quantile: float
) -> Projection:
    """New cases per district and day from a forecast read elsewhere at the backtests' levels
    (`analytics.expected.expected_quantiles`: the pages' forecast of the same history, already
    within the susceptibles), shape (T', D, Q) with ``T' >= horizon_days``: its first
    ``horizon_days`` days at ``quantile``."""
    values = np.asarray(quantiles, dtype=np.float64)
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile: must lie strictly between 0 and 1, got {quantile}")
    if values.ndim != 3 or values.shape[0] < horizon_days:
        raise ValueError(
            f"quantiles: expected at least {horizon_days} days ahead, got shape {values.shape}"
        )
    return Projection(
        new_cases=at_quantile(values[:horizon_days], quantile=quantile),
        source="growth_recalibrated",
        growth_rate=None,
        quantile=quantile,
    )


def whole_arrivals(expected: npt.ArrayLike) -> FloatArray:
    """Round expected daily counts to whole persons, keeping each row's running total.

    Each day gets ``round(cumulative[t]) - round(cumulative[t - 1])``, so a district expecting
    0.3 cases a day gets one case every third or so day rather than none (rounding each day) or
    one every day (rounding up), and the horizon's total is the expected total, rounded.
    """
    values = np.asarray(expected, dtype=np.float64)
    cumulative = np.floor(np.cumsum(values, axis=-1) + 0.5)
    whole: FloatArray = np.diff(cumulative, axis=-1, prepend=0.0)
    return np.maximum(whole, 0.0)


def in_use(arrivals: npt.ArrayLike, *, stay_days: int, after_days: int = 0) -> FloatArray:
    """Places occupied each day by arrivals who stay `stay_days` days.

    An arrival on day ``s`` occupies days ``s + after_days`` to ``s + after_days + stay_days -
    1`` (``after_days``: home isolation begins after centralised quarantine). Shape (..., T).
    """
    values = np.asarray(arrivals, dtype=np.float64)
    n_t = values.shape[-1]
    occupied = np.zeros(values.shape)
    for lag in range(after_days, after_days + stay_days):
        if lag >= n_t:
            break
        occupied[..., lag:] += values[..., : n_t - lag]
    return occupied


@dataclass(frozen=True, eq=False, kw_only=True)
class DemandProjection:
    """Arrivals and places needed per resource, district and day.

    ``projected``: new cases as projected (the forecast read at the quantile), before they are
    rounded to whole persons (``new_cases``); ``arrivals[resource]``: persons (tubes) newly
    needing the resource each day, whole numbers; ``needed[resource]``: places in use each day,
    the places already committed included. Arrays have shape (D, T).
    """

    days: tuple[date, ...]
    projected: FloatArray
    new_cases: FloatArray
    new_contacts: FloatArray
    source: ProjectionSource
    growth_rate: FloatArray | None
    quantile: float | None
    arrivals: dict[str, FloatArray]
    needed: dict[str, FloatArray]


def project_demand(
    *,
    days: tuple[date, ...],
    projection: Projection,
    contacts_per_case: float | npt.ArrayLike,
    rules: StayRules,
    committed: dict[str, FloatArray],
    planned_tubes: npt.ArrayLike,
    new_contacts: npt.ArrayLike | None = None,
) -> DemandProjection:
    """Turn new cases into arrivals and places needed, with the tubes of the screening plan.

    Each new case goes to a makeshift hospital for ``case_stay_days``; each of its close
    contacts to centralised quarantine for the policy's days, then home isolation for the
    policy's days. ``committed[resource]`` (D, T) are the places already held on each day by
    persons placed before (quarantine orders in force); ``planned_tubes`` (D, T) are the tubes
    of the screening plan, each needing a laboratory that day.
    """
    cases = whole_arrivals(projection.new_cases)
    n_d, n_t = cases.shape
    if len(days) != n_t:
        raise ValueError(f"days: expected {n_t} days, got {len(days)}")
    if new_contacts is None:
        ratio = np.broadcast_to(np.asarray(contacts_per_case, dtype=np.float64), (n_d,))
        if not np.all(np.isfinite(ratio)) or np.any(ratio < 0):
            raise ValueError("contacts_per_case: must be finite and non-negative")
        contacts = whole_arrivals(projection.new_cases * ratio[:, None])
    else:
        contacts = whole_arrivals(np.asarray(new_contacts, dtype=np.float64))
        if contacts.shape != (n_d, n_t):
            raise ValueError(f"new_contacts: expected shape {(n_d, n_t)}, got {contacts.shape}")
    tubes = np.asarray(planned_tubes, dtype=np.float64)
    if tubes.shape != (n_d, n_t) or np.any(tubes < 0) or not np.all(np.isfinite(tubes)):
        raise ValueError(f"planned_tubes: expected {(n_d, n_t)} non-negative numbers")
    arrivals = {
        CENTRALISED_QUARANTINE_BED: contacts,
        MAKESHIFT_HOSPITAL_BED: cases,
        HOME_ISOLATION_PLACE: np.zeros((n_d, n_t)),
        LAB_TUBE: np.ceil(tubes),
    }
    own = {
        CENTRALISED_QUARANTINE_BED: in_use(
            contacts, stay_days=rules.stay_days(CENTRALISED_QUARANTINE_BED)
        ),
        MAKESHIFT_HOSPITAL_BED: in_use(cases, stay_days=rules.stay_days(MAKESHIFT_HOSPITAL_BED)),
        HOME_ISOLATION_PLACE: in_use(
            contacts,
            stay_days=rules.home_isolation_days,
            after_days=rules.centralised_quarantine_days,
        ),
        LAB_TUBE: np.ceil(tubes),
    }
    needed = {}
    for resource, values in own.items():
        held = committed.get(resource)
        needed[resource] = values if held is None else values + np.asarray(held, dtype=np.float64)
    for values in (*arrivals.values(), *needed.values()):
        values.setflags(write=False)
    return DemandProjection(
        days=days,
        projected=projection.new_cases,
        new_cases=cases,
        new_contacts=contacts,
        source=projection.source,
        quantile=projection.quantile,
        growth_rate=projection.growth_rate,
        arrivals=arrivals,
        needed=needed,
    )
