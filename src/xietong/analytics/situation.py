"""The situation picture read from the daily series: trend (growth, Rt, phase) of every district
and of the city; the forecast under the policy and under alternative policies is
`forecasting.py`'s, offered here too (`name as name`).

These services feed the pure numerics of `analytics.core` with the series, the policy in force,
the districts' populations and distances; docs/analytics.md states every modelling choice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from xietong.analytics.catalogue import Source
from xietong.analytics.core.distributions import discretise_serial_interval
from xietong.analytics.core.growth import DEFAULT_GROWTH_WINDOW_DAYS, GrowthEstimate
from xietong.analytics.core.phase import (
    DEFAULT_RAPID_DOUBLING_DAYS,
    Phase,
    situation_phases,
)
from xietong.analytics.core.rt import (
    DEFAULT_PRIOR_MEAN,
    DEFAULT_PRIOR_SD,
    DEFAULT_WINDOW_DAYS,
    RtEstimate,
)
from xietong.analytics.forecasting import compare_scenarios as compare_scenarios
from xietong.analytics.forecasting import default_scenarios as default_scenarios
from xietong.analytics.forecasting import forecast_districts as forecast_districts
from xietong.analytics.nowcasting import DelayReads, NowcastSeries, nowcast_series
from xietong.analytics.schemas import (
    TrendParameters,
    TrendPoint,
    TrendRead,
    UnitTrend,
)
from xietong.analytics.service import DailySeries, daily_series, require_counts
from xietong.areas.reference import chongqing
from xietong.core.errors import RowError, ValidationFailed
from xietong.policy.rules import Policy
from xietong.policy.service import policy_in_force

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_TREND_DAYS: Final = DEFAULT_WINDOW_DAYS + 1
# When the data carry an estimate (docs/analytics.md): cases in the growth window, and the
# largest coefficient of variation of Rt's posterior (Cori et al. 2013).
GROWTH_MIN_CASES: Final = 12
RT_MAX_CV: Final = 0.3


# ---------------------------------------------------------------------------------------------
# Trend


def serial_interval_of(policy: Policy) -> FloatArray:
    """The policy's serial interval discretised as EpiEstim does, long enough for its tail."""
    return _discretised(policy.serial_interval.mean_days, policy.serial_interval.sd_days).copy()


@functools.lru_cache(maxsize=16)
def _discretised(mean: float, sd: float) -> FloatArray:
    # A pure function of two numbers that a policy changes rarely, and a few milliseconds of
    # gamma CDFs: computed once per serial interval rather than once per trend.
    return discretise_serial_interval(
        mean=mean, sd=sd, max_days=max(20, math.ceil(mean + 10.0 * sd))
    )


def trend(
    session: Session,
    *,
    last_day: date,
    days: int = 28,
    source: Source = "auto",
    reads: DelayReads | None = None,
) -> TrendRead:
    """Growth rate, Rt and phase of every district and of the city on `last_day` (the nowcast's
    delays read through `reads` when given)."""
    if days < MIN_TREND_DAYS:
        raise ValidationFailed(
            errors=[RowError("request", "days", f"at least {MIN_TREND_DAYS} days are needed")]
        )
    first_day = last_day - timedelta(days=days - 1)
    series = daily_series(session, first_day=first_day, last_day=last_day, source=source)
    require_counts(series)
    late = (
        None
        if series.source == "official"
        else nowcast_series(session, first_day=first_day, last_day=last_day, reads=reads)
    )
    return trend_of_series(series, policy=policy_in_force(session, day=last_day), nowcast=late)


def fill_unknown_days(counts: npt.ArrayLike, unknown: npt.ArrayLike) -> FloatArray:
    """Counts with the days not reported filled in, for the estimates only.

    An unknown day between two reported days takes the log-linear interpolation of
    log(count + 0.5) between them (the scale on which the growth rate is fitted); one after
    the last reported day keeps that day's value. Days before the first reported day (before
    the publications began) count nothing, as a series that starts there would: the growth
    rate is not given for a window reaching back into them (`carried_by_data`).
    """
    filled = np.asarray(counts, dtype=np.float64).copy()
    missing = np.asarray(unknown, dtype=np.bool_)
    axis = np.arange(filled.shape[1])
    for row in np.flatnonzero(missing.any(axis=1) & ~missing.all(axis=1)):
        known = ~missing[row]
        logs = np.log(filled[row, known] + 0.5)
        filled[row, ~known] = np.exp(np.interp(axis[~known], axis[known], logs)) - 0.5
    filled[before_first_report(missing)] = 0.0
    clipped: FloatArray = np.clip(filled, 0.0, None)
    return clipped


def before_first_report(unknown: BoolArray) -> BoolArray:
    """The unknown days of each row that come before its first reported day."""
    leading: BoolArray = np.cumsum(~unknown, axis=1) == 0
    return leading


def trend_of_series(
    series: DailySeries, *, policy: Policy, nowcast: NowcastSeries | None = None
) -> TrendRead:
    """The trend of a daily series under `policy` (see `trend`); days not reported are
    filled by `fill_unknown_days` for the estimates and shown as unknown. With a `nowcast`
    of the same days, growth and Rt are estimated on it, and each day shows it."""
    unknown = series.unknown_counts()
    observed = series.infections()
    cases = fill_unknown_days(observed, unknown)
    # The city's own published row where there is one (its total may count units not broken
    # down); elsewhere the districts' sum, unknown when any district's day is.
    published, city_published = series.city_infections()
    city_unknown: BoolArray = np.asarray(unknown.any(axis=0) & ~city_published, dtype=np.bool_)
    city_observed = np.where(city_published, published, observed.sum(axis=0))
    city_cases = fill_unknown_days(city_observed[np.newaxis, :], city_unknown[np.newaxis, :])
    if nowcast is not None:
        # Infections by the day first sampled, the last days completed: nearer to when they
        # happened than the day reported, and without the last days' shortfall.
        cases, city_cases = nowcast.expected, nowcast.city.expected[np.newaxis, :]
    # A day not reported is never a clean day: it ends the run of days without a surface case.
    surface = np.where(
        unknown,
        np.maximum(np.ceil(fill_unknown_days(series.surface_infections(), unknown)), 1.0),
        series.surface_infections(),
    )
    picture = situation_phases(
        cases=cases,
        surface_cases=surface,
        serial_interval=serial_interval_of(policy),
        surface_zero_days=policy.surface_zero.consecutive_days,
        city_cases=city_cases[0],
    )
    city = chongqing()
    city_days = _EstimatesByDay.of(
        picture.city_growth,
        picture.city_rt,
        cases=city_cases,
        unknown=city_unknown[np.newaxis, :],
    )
    district_days = _EstimatesByDay.of(
        picture.district_growth, picture.district_rt, cases=cases, unknown=unknown
    )
    city_trend = _unit_trend(
        code=city.code,
        name=city.name_hans,
        phase=picture.city_phase,
        cases=np.where(city_unknown, -1, city_observed),
        # Where found is split by district only: unknown on a day the districts did not report.
        surface=np.where(unknown.any(axis=0), -1, series.surface_infections().sum(axis=0)),
        days_without_surface_case=picture.city_days_without_surface_case,
        growth=picture.city_growth,
        rt=picture.city_rt,
        row=0,
        by_day=city_days,
        series_days=series.days,
        late=None if nowcast is None else _LateDays.of_city(nowcast),
    )
    shown_surface = np.where(unknown, -1, series.surface_infections())
    districts = [
        _unit_trend(
            code=district.code,
            name=district.name_hans,
            phase=Phase(str(picture.district_phase[i])),
            cases=np.where(unknown[i], -1, observed[i]),
            surface=shown_surface[i],
            days_without_surface_case=int(picture.district_days_without_surface_case[i]),
            growth=picture.district_growth,
            rt=picture.district_rt,
            row=i,
            by_day=district_days,
            series_days=series.days,
            late=None if nowcast is None else _LateDays.of_district(nowcast, i),
        )
        for i, district in enumerate(series.districts)
    ]
    return TrendRead(
        parameters=TrendParameters(
            source="official" if series.source == "official" else "aggregates",
            first_day=series.days[0],
            last_day=series.days[-1],
            policy_version=policy.version,
            growth_window_days=DEFAULT_GROWTH_WINDOW_DAYS,
            rt_window_days=DEFAULT_WINDOW_DAYS,
            serial_interval_mean_days=policy.serial_interval.mean_days,
            serial_interval_sd_days=policy.serial_interval.sd_days,
            prior_mean=DEFAULT_PRIOR_MEAN,
            prior_sd=DEFAULT_PRIOR_SD,
            surface_zero_days=policy.surface_zero.consecutive_days,
            rapid_doubling_days=DEFAULT_RAPID_DOUBLING_DAYS,
            growth_min_cases=GROWTH_MIN_CASES,
            rt_max_cv=RT_MAX_CV,
            estimated_on="reported" if nowcast is None else "nowcast",
        ),
        city=city_trend,
        districts=districts,
    )


def carried_by_data(
    growth: GrowthEstimate, rt: RtEstimate, *, cases: FloatArray, unknown: BoolArray
) -> tuple[BoolArray, BoolArray]:
    """Where the data carry the growth rate and Rt: arrays shaped as `growth.rate`, `rt.mean`.

    Growth needs at least GROWTH_MIN_CASES cases in its window (a log-linear fit on a handful
    of cases is noise); Rt needs a posterior coefficient of variation (sd / mean) below
    RT_MAX_CV, the threshold Cori et al. (2013) suggest, which with the default prior means
    about 11 or more cases in the window. Neither is given on a day not reported.
    """
    window = _window_totals(cases, growth.t_start, growth.t_end)
    leading = _window_totals(before_first_report(unknown), growth.t_start, growth.t_end)
    growth_ok: BoolArray = (
        (window >= GROWTH_MIN_CASES) & (leading == 0) & ~unknown[:, growth.t_end - 1]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = rt.sd / rt.mean
    rt_ok: BoolArray = np.isfinite(cv) & (cv < RT_MAX_CV) & ~unknown[:, rt.t_end - 1]
    return growth_ok, rt_ok


def _window_totals(
    values: npt.ArrayLike, t_start: npt.NDArray[np.int64], t_end: npt.NDArray[np.int64]
) -> FloatArray:
    """Sums of each row over the windows [t_start, t_end] (1-based, inclusive)."""
    array = np.asarray(values, dtype=np.float64)
    totals = np.concatenate([np.zeros((array.shape[0], 1)), np.cumsum(array, axis=1)], axis=1)
    sums: FloatArray = totals[:, t_end] - totals[:, t_start - 1]
    return sums


@dataclass(frozen=True)
class _EstimatesByDay:
    """The day-by-day estimates of every row laid out on the series' days, as JSON numbers.

    An estimate belongs to its window's last day (`t_end`, 1-based); days without one,
    estimates that are not finite and those the data do not carry are None. Each array is read
    once for all rows and days: looking the estimates up point by point costs far more than
    computing them.
    """

    growth_rate: list[list[float | None]]
    rt_mean: list[list[float | None]]
    rt_lower: list[list[float | None]]
    rt_upper: list[list[float | None]]
    growth_ok: BoolArray
    rt_ok: BoolArray

    @classmethod
    def of(
        cls, growth: GrowthEstimate, rt: RtEstimate, *, cases: FloatArray, unknown: BoolArray
    ) -> _EstimatesByDay:
        days = cases.shape[1]
        growth_ok, rt_ok = carried_by_data(growth, rt, cases=cases, unknown=unknown)
        return cls(
            growth_rate=_on_days(growth.rate, growth.t_end, days, growth_ok),
            rt_mean=_on_days(rt.mean, rt.t_end, days, rt_ok),
            rt_lower=_on_days(rt.lower, rt.t_end, days, rt_ok),
            rt_upper=_on_days(rt.upper, rt.t_end, days, rt_ok),
            growth_ok=growth_ok,
            rt_ok=rt_ok,
        )


def _on_days(
    values: FloatArray, t_end: npt.NDArray[np.int64], days: int, carried: BoolArray
) -> list[list[float | None]]:
    laid_out = np.full((values.shape[0], days), np.nan)
    laid_out[:, t_end - 1] = np.where(carried, values, np.nan)
    return [[v if math.isfinite(v) else None for v in row] for row in laid_out.tolist()]


@dataclass(frozen=True)
class _LateDays:
    """One unit's nowcast laid out on the trend's days."""

    sampled: list[int]
    expected: list[float]
    lower: list[float]
    upper: list[float]

    @classmethod
    def of_city(cls, nowcast: NowcastSeries) -> _LateDays:
        c = nowcast.city
        return cls._of(c.reported, c.expected, c.lower, c.upper)

    @classmethod
    def of_district(cls, nowcast: NowcastSeries, row: int) -> _LateDays:
        n = nowcast
        return cls._of(n.reported[row], n.expected[row], n.lower[row], n.upper[row])

    @classmethod
    def _of(
        cls, reported: FloatArray, expected: FloatArray, lower: FloatArray, upper: FloatArray
    ) -> _LateDays:
        return cls(
            sampled=np.rint(reported).astype(np.int64).tolist(),
            expected=np.round(expected, 2).tolist(),
            lower=np.round(lower, 2).tolist(),
            upper=np.round(upper, 2).tolist(),
        )

    def on(self, k: int) -> dict[str, float | int]:
        return {
            "sampled_cases": self.sampled[k],
            "nowcast": self.expected[k],
            "nowcast_lower": self.lower[k],
            "nowcast_upper": self.upper[k],
        }


_TREND_POINTS: Final = TypeAdapter(list[TrendPoint])


def _unit_trend(
    *,
    code: str,
    name: str,
    phase: Phase,
    cases: npt.NDArray[np.int64],
    surface: npt.NDArray[np.int64],
    days_without_surface_case: int,
    growth: GrowthEstimate,
    rt: RtEstimate,
    row: int,
    by_day: _EstimatesByDay,
    series_days: tuple[date, ...],
    late: _LateDays | None,
) -> UnitTrend:
    """One unit's trend; `cases` and `surface` are -1 on the days not reported."""
    reported = cases >= 0
    # Validated as one list: pydantic's core checks the points without a Python call each.
    points = _TREND_POINTS.validate_python(
        [
            {
                "day": day,
                "cases": day_cases if day_cases >= 0 else None,
                "surface_cases": day_surface if day_surface >= 0 else None,
                "growth_rate": growth_rate,
                "rt_mean": rt_mean,
                "rt_lower": rt_lower,
                "rt_upper": rt_upper,
                **(late.on(k) if late is not None else {}),
            }
            for k, (
                day,
                day_cases,
                day_surface,
                growth_rate,
                rt_mean,
                rt_lower,
                rt_upper,
            ) in enumerate(
                zip(
                    series_days,
                    cases.tolist(),
                    surface.tolist(),
                    by_day.growth_rate[row],
                    by_day.rt_mean[row],
                    by_day.rt_lower[row],
                    by_day.rt_upper[row],
                    strict=True,
                )
            )
        ]
    )
    growth_ok = bool(by_day.growth_ok[row, -1])
    rt_ok = bool(by_day.rt_ok[row, -1])

    def grown(values: FloatArray) -> float | None:
        return _number(values[row, -1]) if growth_ok else None

    def rt_of(values: FloatArray) -> float | None:
        return _number(values[row, -1]) if rt_ok else None

    return UnitTrend(
        code=code,
        name=name,
        day=series_days[-1],
        phase=phase,
        cases_last_day=int(cases[-1]) if reported[-1] else None,
        cases_last_week=int(np.where(reported, cases, 0)[-7:].sum()),
        days_without_surface_case=days_without_surface_case,
        unknown_days=[day for day, known in zip(series_days, reported, strict=True) if not known],
        growth_enough_data=growth_ok,
        rt_enough_data=rt_ok,
        growth_rate=grown(growth.rate),
        growth_rate_lower=grown(growth.rate_lower),
        growth_rate_upper=grown(growth.rate_upper),
        doubling_time_days=grown(growth.doubling_time),
        doubling_time_lower=grown(growth.doubling_time_lower),
        doubling_time_upper=grown(growth.doubling_time_upper),
        halving_time_days=grown(growth.halving_time),
        halving_time_lower=grown(growth.halving_time_lower),
        halving_time_upper=grown(growth.halving_time_upper),
        rt_mean=rt_of(rt.mean),
        rt_median=rt_of(rt.median),
        rt_lower=rt_of(rt.lower),
        rt_upper=rt_of(rt.upper),
        series=points,
    )


def _number(value: float | np.floating) -> float | None:
    """A finite float, or None (JSON has no NaN or infinity)."""
    number = float(value)
    return number if math.isfinite(number) else None
