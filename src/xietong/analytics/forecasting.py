"""The forecast per district under the policy in force, and under alternative policies on paired
runs: the daily series, the policy, the districts' populations and distances fed to the
calibrated outbreak model of `analytics.core` (docs/analytics.md states every modelling choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from xietong.analytics import forecast_reads
from xietong.analytics.core.calibration import calibrate
from xietong.analytics.core.ensemble import Bands, forecast, run_scenarios
from xietong.analytics.core.mobility import gravity_mobility
from xietong.analytics.core.seir import OutbreakModel, Scenario
from xietong.analytics.nowcasting import nowcast_series
from xietong.analytics.schemas import (
    DistrictForecastRead,
    ForecastOptions,
    ForecastParameters,
    ForecastRead,
    ScenarioOutcomeRead,
    ScenarioSpec,
    ScenariosRead,
)
from xietong.analytics.service import DailySeries, daily_series, require_counts
from xietong.areas import service as areas_service
from xietong.core.errors import RowError, ValidationFailed
from xietong.policy.service import policy_in_force

FloatArray = npt.NDArray[np.float64]

# Modelling assumptions of the forecast that the policy file does not hold (docs/analytics.md).
ISOLATION_DELAY_DAYS: Final = 1
RESTRICTION_CONTACT_REDUCTION: Final = 0.2
MOBILITY_CUT: Final = 0.5
# The lifting rule of the 9th edition of the national protocol (June 2022), which the twenty
# measures shortened: the natural alternative to compare the policy's rule with.
PREVIOUS_LIFT_AFTER_CLEAN_DAYS: Final = 7
DEFAULT_OPTIONS: Final = ForecastOptions()


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
    session: Session, *, last_day: date, options: ForecastOptions = DEFAULT_OPTIONS
) -> ForecastRead:
    """Forecast detections and infections per district under the policy in force.

    `options.deterministic` gives the mean-field path (every random draw replaced by its mean),
    one run.
    """
    outbreak = _calibrated(session, last_day=last_day, options=options)
    result = forecast(
        outbreak.model,
        scenario=outbreak.baseline,
        horizon_days=options.horizon_days,
        runs=options.runs,
        rng=np.random.default_rng(options.seed),
        noise=not options.deterministic,
    )
    return ForecastRead(
        parameters=outbreak.parameters,
        scenario=forecast_reads.scenario_read(outbreak.baseline, outbreak.units),
        days=_forecast_days(last_day, options.horizon_days),
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
    options: ForecastOptions = DEFAULT_OPTIONS,
) -> ScenariosRead:
    """Forecast the policy in force and alternative policies side by side, on paired runs.

    The baseline (the policy in force) always comes first and is the reference of
    `infections_averted`; without `scenarios`, the alternatives of `default_scenarios`.
    `options.deterministic` compares the mean-field paths.
    """
    outbreak = _calibrated(session, last_day=last_day, options=options)
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
        horizon_days=options.horizon_days,
        runs=options.runs,
        rng=np.random.default_rng(options.seed),
        noise=not options.deterministic,
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
        days=_forecast_days(last_day, options.horizon_days),
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


def _calibrated(session: Session, *, last_day: date, options: ForecastOptions) -> _Outbreak:
    if options.calibration_days < 5:
        raise ValidationFailed(
            errors=[RowError("request", "calibration_days", "at least 5 days are needed")]
        )
    first_day = last_day - timedelta(days=options.calibration_days - 1)
    series = daily_series(session, first_day=first_day, last_day=last_day, source=options.source)
    require_counts(series)
    policy = policy_in_force(session, day=last_day)
    units, assignment, merged = _model_units(series)
    # The forecast starts from the nowcast where the cases domain holds the cases: the last
    # days' infections completed by the chain-ladder rather than read short.
    late = (
        None
        if series.source == "official"
        else nowcast_series(session, first_day=first_day, last_day=last_day)
    )
    infections = series.infections() if late is None else late.expected
    detections = (assignment.T @ infections).T.astype(np.float64)  # (K, U)
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
            horizon_days=options.horizon_days,
            runs=1 if options.deterministic else options.runs,
            seed=options.seed,
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
