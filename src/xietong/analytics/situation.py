"""The situation picture read from the daily series: trend (growth, Rt, phase) of every district
and of the city, and the forecast under the policy and under alternative policies.

These services feed the pure numerics of `analytics.core` with the series, the policy in force,
the districts' populations and distances; docs/analytics.md states every modelling choice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from xietong.analytics import forecast_reads
from xietong.analytics.catalogue import Source
from xietong.analytics.core.calibration import calibrate
from xietong.analytics.core.distributions import discretise_serial_interval
from xietong.analytics.core.ensemble import Bands, forecast, run_scenarios
from xietong.analytics.core.growth import DEFAULT_GROWTH_WINDOW_DAYS, GrowthEstimate
from xietong.analytics.core.mobility import gravity_mobility
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
from xietong.analytics.core.seir import OutbreakModel, Scenario
from xietong.analytics.schemas import (
    DistrictForecastRead,
    ForecastParameters,
    ForecastRead,
    ScenarioOutcomeRead,
    ScenarioSpec,
    ScenariosRead,
    TrendParameters,
    TrendPoint,
    TrendRead,
    UnitTrend,
)
from xietong.analytics.service import DailySeries, daily_series, require_counts
from xietong.areas import service as areas_service
from xietong.areas.reference import chongqing
from xietong.core.errors import RowError, ValidationFailed
from xietong.policy.rules import Policy
from xietong.policy.service import policy_in_force

FloatArray = npt.NDArray[np.float64]

MIN_TREND_DAYS: Final = DEFAULT_WINDOW_DAYS + 1
# Modelling assumptions of the forecast that the policy file does not hold (docs/analytics.md).
ISOLATION_DELAY_DAYS: Final = 1
RESTRICTION_CONTACT_REDUCTION: Final = 0.2
MOBILITY_CUT: Final = 0.5
# The lifting rule of the 9th edition of the national protocol (June 2022), which the twenty
# measures shortened: the natural alternative to compare the policy's rule with.
PREVIOUS_LIFT_AFTER_CLEAN_DAYS: Final = 7


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
    session: Session, *, last_day: date, days: int = 28, source: Source = "auto"
) -> TrendRead:
    """Growth rate, Rt and phase of every district and of the city on `last_day`."""
    if days < MIN_TREND_DAYS:
        raise ValidationFailed(
            errors=[RowError("request", "days", f"at least {MIN_TREND_DAYS} days are needed")]
        )
    first_day = last_day - timedelta(days=days - 1)
    series = daily_series(session, first_day=first_day, last_day=last_day, source=source)
    require_counts(series)
    policy = policy_in_force(session, day=last_day)
    cases = series.infections()
    surface = series.surface_infections()
    picture = situation_phases(
        cases=cases,
        surface_cases=surface,
        serial_interval=serial_interval_of(policy),
        surface_zero_days=policy.surface_zero.consecutive_days,
    )
    city = chongqing()
    days = len(series.days)
    city_days = _EstimatesByDay.of(picture.city_growth, picture.city_rt, days=days)
    district_days = _EstimatesByDay.of(picture.district_growth, picture.district_rt, days=days)
    city_trend = _unit_trend(
        code=city.code,
        name=city.name_hans,
        phase=picture.city_phase,
        cases=cases.sum(axis=0),
        surface=surface.sum(axis=0),
        days_without_surface_case=picture.city_days_without_surface_case,
        growth=picture.city_growth,
        rt=picture.city_rt,
        row=0,
        by_day=city_days,
        series_days=series.days,
    )
    districts = [
        _unit_trend(
            code=district.code,
            name=district.name_hans,
            phase=Phase(str(picture.district_phase[i])),
            cases=cases[i],
            surface=surface[i],
            days_without_surface_case=int(picture.district_days_without_surface_case[i]),
            growth=picture.district_growth,
            rt=picture.district_rt,
            row=i,
            by_day=district_days,
            series_days=series.days,
        )
        for i, district in enumerate(series.districts)
    ]
    return TrendRead(
        parameters=TrendParameters(
            source="official" if series.source == "official" else "aggregates",
            first_day=first_day,
            last_day=last_day,
            policy_version=policy.version,
            growth_window_days=DEFAULT_GROWTH_WINDOW_DAYS,
            rt_window_days=DEFAULT_WINDOW_DAYS,
            serial_interval_mean_days=policy.serial_interval.mean_days,
            serial_interval_sd_days=policy.serial_interval.sd_days,
            prior_mean=DEFAULT_PRIOR_MEAN,
            prior_sd=DEFAULT_PRIOR_SD,
            surface_zero_days=policy.surface_zero.consecutive_days,
            rapid_doubling_days=DEFAULT_RAPID_DOUBLING_DAYS,
        ),
        city=city_trend,
        districts=districts,
    )


@dataclass(frozen=True)
class _EstimatesByDay:
    """The day-by-day estimates of every row laid out on the series' days, as JSON numbers.

    An estimate belongs to its window's last day (`t_end`, 1-based); days without one, and
    estimates that are not finite, are None. Each array is read once for all rows and days:
    looking the estimates up point by point costs far more than computing them.
    """

    growth_rate: list[list[float | None]]
    rt_mean: list[list[float | None]]
    rt_lower: list[list[float | None]]
    rt_upper: list[list[float | None]]

    @classmethod
    def of(cls, growth: GrowthEstimate, rt: RtEstimate, *, days: int) -> _EstimatesByDay:
        return cls(
            growth_rate=_on_days(growth.rate, growth.t_end, days),
            rt_mean=_on_days(rt.mean, rt.t_end, days),
            rt_lower=_on_days(rt.lower, rt.t_end, days),
            rt_upper=_on_days(rt.upper, rt.t_end, days),
        )


def _on_days(
    values: FloatArray, t_end: npt.NDArray[np.int64], days: int
) -> list[list[float | None]]:
    laid_out = np.full((values.shape[0], days), np.nan)
    laid_out[:, t_end - 1] = values
    return [[v if math.isfinite(v) else None for v in row] for row in laid_out.tolist()]


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
) -> UnitTrend:
    # Validated as one list: pydantic's core checks the points without a Python call each.
    points = _TREND_POINTS.validate_python(
        [
            {
                "day": day,
                "cases": day_cases,
                "surface_cases": day_surface,
                "growth_rate": growth_rate,
                "rt_mean": rt_mean,
                "rt_lower": rt_lower,
                "rt_upper": rt_upper,
            }
            for day, day_cases, day_surface, growth_rate, rt_mean, rt_lower, rt_upper in zip(
                series_days,
                cases.tolist(),
                surface.tolist(),
                by_day.growth_rate[row],
                by_day.rt_mean[row],
                by_day.rt_lower[row],
                by_day.rt_upper[row],
                strict=True,
            )
        ]
    )
    return UnitTrend(
        code=code,
        name=name,
        phase=phase,
        cases_last_day=int(cases[-1]),
        cases_last_week=int(cases[-7:].sum()),
        days_without_surface_case=days_without_surface_case,
        growth_rate=float(growth.rate[row, -1]),
        growth_rate_lower=float(growth.rate_lower[row, -1]),
        growth_rate_upper=float(growth.rate_upper[row, -1]),
        doubling_time_days=_number(growth.doubling_time[row, -1]),
        doubling_time_lower=_number(growth.doubling_time_lower[row, -1]),
        doubling_time_upper=_number(growth.doubling_time_upper[row, -1]),
        halving_time_days=_number(growth.halving_time[row, -1]),
        halving_time_lower=_number(growth.halving_time_lower[row, -1]),
        halving_time_upper=_number(growth.halving_time_upper[row, -1]),
        rt_mean=_number(rt.mean[row, -1]),
        rt_median=_number(rt.median[row, -1]),
        rt_lower=_number(rt.lower[row, -1]),
        rt_upper=_number(rt.upper[row, -1]),
        series=points,
    )


def _number(value: float | np.floating) -> float | None:
    """A finite float, or None (JSON has no NaN or infinity)."""
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------
# Forecast


@dataclass(frozen=True)
class _Outbreak:
    """The calibrated model and what it was built from."""

    units: tuple[areas_service.District, ...]
    unit_of_code: dict[str, int]
    merged: dict[str, str]
    baseline: Scenario
    parameters: ForecastParameters
    growth_rate: FloatArray
    reproduction_number: FloatArray
    model: OutbreakModel


def forecast_districts(
    session: Session,
    *,
    last_day: date,
    horizon_days: int = 28,
    runs: int = 200,
    seed: int = 0,
    calibration_days: int = 10,
    source: Source = "auto",
    deterministic: bool = False,
) -> ForecastRead:
    """Forecast detections and infections per district under the policy in force.

    `deterministic` gives the mean-field path (every random draw replaced by its mean), one run.
    """
    outbreak = _calibrated(
        session,
        last_day=last_day,
        horizon_days=horizon_days,
        runs=1 if deterministic else runs,
        seed=seed,
        calibration_days=calibration_days,
        source=source,
    )
    result = forecast(
        outbreak.model,
        scenario=outbreak.baseline,
        horizon_days=horizon_days,
        runs=runs,
        rng=np.random.default_rng(seed),
        noise=not deterministic,
    )
    return ForecastRead(
        parameters=outbreak.parameters,
        scenario=forecast_reads.scenario_read(outbreak.baseline, outbreak.units),
        days=_forecast_days(last_day, horizon_days),
        city_detections=forecast_reads.bands_read(result.city_detections),
        city_infections=forecast_reads.bands_read(result.city_infections),
        districts=[
            DistrictForecastRead(
                code=unit.code,
                name=unit.name_hans,
                growth_rate=float(outbreak.growth_rate[u]),
                reproduction_number=float(outbreak.reproduction_number[u]),
                detections=forecast_reads.bands_read(result.detections, column=u),
                infections=forecast_reads.bands_read(result.infections, column=u),
            )
            for u, unit in enumerate(outbreak.units)
        ],
    )


def compare_scenarios(
    session: Session,
    *,
    last_day: date,
    scenarios: Sequence[ScenarioSpec] | None = None,
    horizon_days: int = 28,
    runs: int = 200,
    seed: int = 0,
    calibration_days: int = 10,
    source: Source = "auto",
    deterministic: bool = False,
) -> ScenariosRead:
    """Forecast the policy in force and alternative policies side by side, on paired runs.

    The baseline (the policy in force) always comes first and is the reference of
    `infections_averted`; without `scenarios`, the alternatives of `default_scenarios`.
    `deterministic` compares the mean-field paths.
    """
    outbreak = _calibrated(
        session,
        last_day=last_day,
        horizon_days=horizon_days,
        runs=1 if deterministic else runs,
        seed=seed,
        calibration_days=calibration_days,
        source=source,
    )
    specs = (
        list(scenarios)
        if scenarios is not None
        else default_scenarios(outbreak.baseline, busiest_code=_busiest_unit(outbreak))
    )
    if any(spec.name == outbreak.baseline.name for spec in specs):
        raise ValidationFailed(
            errors=[RowError("scenarios", "name", "'baseline' is the policy in force; rename")]
        )
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValidationFailed(errors=[RowError("scenarios", "name", "names must be distinct")])
    built = [outbreak.baseline] + [
        _scenario_from(spec, outbreak.baseline, outbreak.unit_of_code, len(outbreak.units))
        for spec in specs
    ]
    comparison = run_scenarios(
        outbreak.model,
        built,
        horizon_days=horizon_days,
        runs=runs,
        rng=np.random.default_rng(seed),
        noise=not deterministic,
    )
    outcomes = []
    for s, result in enumerate(comparison.forecasts):
        district_totals = result.new_infections.sum(axis=1)
        outcomes.append(
            ScenarioOutcomeRead(
                scenario=forecast_reads.scenario_read(result.scenario, outbreak.units),
                city_detections=forecast_reads.bands_read(result.city_detections),
                city_infections=forecast_reads.bands_read(result.city_infections),
                total_infections=forecast_reads.spread_read(comparison.total_infections, s),
                infections_averted=forecast_reads.spread_read(comparison.infections_averted, s),
                district_total_infections={
                    unit.code: forecast_reads.spread_read(Bands.of(district_totals), u)
                    for u, unit in enumerate(outbreak.units)
                },
            )
        )
    return ScenariosRead(
        parameters=outbreak.parameters,
        days=_forecast_days(last_day, horizon_days),
        scenarios=outcomes,
    )


def default_scenarios(baseline: Scenario, *, busiest_code: str) -> list[ScenarioSpec]:
    """The alternatives the command centre weighs (issue: screening frequency, quarantine
    delay, a mobility cut in a district, the lifting rule), each one change from the baseline."""
    specs = []
    if baseline.screening_interval_days != 1.0:
        specs.append(ScenarioSpec(name="screening_every_day", screening_interval_days=1.0))
    if baseline.screening_interval_days != 2.0:
        specs.append(ScenarioSpec(name="screening_every_other_day", screening_interval_days=2.0))
    delay = baseline.isolation_delay_days + 1
    specs.append(ScenarioSpec(name=f"isolation_delay_{delay}_days", isolation_delay_days=delay))
    specs.append(
        ScenarioSpec(name=f"mobility_cut_{busiest_code}", mobility_cut={busiest_code: MOBILITY_CUT})
    )
    lift = (
        PREVIOUS_LIFT_AFTER_CLEAN_DAYS
        if baseline.lift_after_clean_days != PREVIOUS_LIFT_AFTER_CLEAN_DAYS
        else baseline.lift_after_clean_days + 2
    )
    specs.append(ScenarioSpec(name=f"lift_after_{lift}_clean_days", lift_after_clean_days=lift))
    return specs


def _calibrated(
    session: Session,
    *,
    last_day: date,
    horizon_days: int,
    runs: int,
    seed: int,
    calibration_days: int,
    source: Source,
) -> _Outbreak:
    if calibration_days < 5:
        raise ValidationFailed(
            errors=[RowError("request", "calibration_days", "at least 5 days are needed")]
        )
    first_day = last_day - timedelta(days=calibration_days - 1)
    series = daily_series(session, first_day=first_day, last_day=last_day, source=source)
    require_counts(series)
    policy = policy_in_force(session, day=last_day)
    units, assignment, merged = _model_units(series)
    detections = (assignment.T @ series.infections()).T.astype(np.float64)  # (K, U)
    population = np.array([unit.population for unit in units], dtype=np.float64)
    distances = areas_service.distance_matrix(session)
    position = {code: i for i, code in enumerate(distances.codes)}
    order = [position[unit.code] for unit in units]
    km = np.asarray(distances.km, dtype=np.float64)[np.ix_(order, order)]
    mobility = gravity_mobility(population=population, distance_km=km)
    baseline = Scenario(
        name="baseline",
        screening_interval_days=float(policy.screening.interval_days.central_urban_area),
        isolation_delay_days=ISOLATION_DELAY_DAYS,
        restriction_contact_reduction=RESTRICTION_CONTACT_REDUCTION,
        lift_after_clean_days=policy.risk_area.lift_after_clean_days,
    )
    calibration = calibrate(
        detections=detections,
        population=population,
        contact_share=mobility.contact_share,
        scenario=baseline,
    )
    return _Outbreak(
        units=units,
        unit_of_code=_unit_of_code(units, merged),
        merged=merged,
        baseline=baseline,
        parameters=ForecastParameters(
            source="official" if series.source == "official" else "aggregates",
            calibration_first_day=first_day,
            last_day=last_day,
            first_forecast_day=last_day + timedelta(days=1),
            horizon_days=horizon_days,
            runs=runs,
            seed=seed,
            policy_version=policy.version,
            units=[unit.code for unit in units],
            merged=merged,
            pooled_growth=[unit.code for u, unit in enumerate(units) if calibration.pooled[u]],
        ),
        growth_rate=calibration.growth_rate,
        reproduction_number=calibration.reproduction_number,
        model=calibration.model,
    )


def _model_units(
    series: DailySeries,
) -> tuple[tuple[areas_service.District, ...], npt.NDArray[np.int64], dict[str, str]]:
    """Districts with a census population; a unit without one (a functional zone carved out of
    its host) is counted with its host, whose population includes it."""
    by_code = {d.code: d for d in series.districts}
    units = tuple(d for d in series.districts if d.population)
    index = {d.code: u for u, d in enumerate(units)}
    merged: dict[str, str] = {}
    assignment = np.zeros((len(series.districts), len(units)), dtype=np.int64)
    for i, district in enumerate(series.districts):
        target = district.code
        if target not in index:
            host = by_code.get(district.host_code or "")
            if host is None or host.code not in index:
                raise ValidationFailed(
                    errors=[
                        RowError(
                            f"district {district.code}",
                            "population",
                            "no census population and no host district that has one",
                        )
                    ]
                )
            target = merged[district.code] = host.code
        assignment[i, index[target]] = 1
    return units, assignment, merged


def _unit_of_code(
    units: tuple[areas_service.District, ...], merged: dict[str, str]
) -> dict[str, int]:
    index = {unit.code: u for u, unit in enumerate(units)}
    return index | {code: index[host] for code, host in merged.items()}


def _busiest_unit(outbreak: _Outbreak) -> str:
    """The unit with the most infectious people now: where a travel cut matters most."""
    return outbreak.units[int(np.argmax(outbreak.model.infectious))].code


def _scenario_from(
    spec: ScenarioSpec, baseline: Scenario, unit_of_code: dict[str, int], units: int
) -> Scenario:
    cut = None
    if spec.mobility_cut:
        cut_by_unit = [0.0] * units
        for code, fraction in spec.mobility_cut.items():
            if code not in unit_of_code:
                raise ValidationFailed(
                    errors=[RowError(f"scenario {spec.name}", "mobility_cut", "unknown", code)]
                )
            if not 0.0 <= fraction <= 1.0:
                raise ValidationFailed(
                    errors=[RowError(f"scenario {spec.name}", "mobility_cut", "must lie in [0, 1]")]
                )
            u = unit_of_code[code]
            cut_by_unit[u] = max(cut_by_unit[u], fraction)
        cut = tuple(cut_by_unit)
    interval = baseline.screening_interval_days
    if spec.no_screening:
        interval = None
    elif spec.screening_interval_days is not None:
        interval = spec.screening_interval_days
    return Scenario(
        name=spec.name,
        screening_interval_days=interval,
        screening_coverage=_or(spec.screening_coverage, baseline.screening_coverage),
        test_sensitivity=_or(spec.test_sensitivity, baseline.test_sensitivity),
        isolation_delay_days=_or(spec.isolation_delay_days, baseline.isolation_delay_days),
        travel_cut=cut,
        restriction_contact_reduction=_or(
            spec.restriction_contact_reduction, baseline.restriction_contact_reduction
        ),
        lift_after_clean_days=_or(spec.lift_after_clean_days, baseline.lift_after_clean_days),
    )


_T = TypeVar("_T")


def _or(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def _forecast_days(last_day: date, horizon_days: int) -> list[date]:
    return [last_day + timedelta(days=k + 1) for k in range(horizon_days)]
