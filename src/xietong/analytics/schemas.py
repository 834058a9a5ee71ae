"""Pydantic shapes of the situation picture in and out of the API and the CLI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xietong.analytics.core.phase import Phase


class RefreshReport(BaseModel):
    """What one refresh of the daily aggregates did."""

    full: bool
    since: datetime | None  # facts changed from here on were looked at; None: everything
    watermark: datetime
    cells_refreshed: int
    cells_added: int
    domains: list[str]  # domains whose metrics module took part
    unknown_metrics: list[str]  # names a domain returned that the aggregates have no column for
    # The pages' results the refresh job computed after it (`analytics.page_results`), by kind.
    results_computed: list[str] = []


class AggregateRead(BaseModel):
    """One district on one local day; None where no domain of this deployment counts it."""

    district_code: str
    day: date
    swabs_sampled: int | None = None
    tubes_sampled: int | None = None
    tubes_resulted: int | None = None
    tubes_positive: int | None = None
    pooled_positives: int | None = None
    new_confirmed: int | None = None
    new_asymptomatic: int | None = None
    conversions: int | None = None
    found_under_control: int | None = None
    found_on_surface: int | None = None
    quarantine_occupancy: int | None = None
    referrals_opened: int | None = None
    referrals_closed: int | None = None
    referrals_overdue: int | None = None
    active_high_risk_areas: int | None = None
    refreshed_at: datetime


class OfficialImportReport(BaseModel):
    rows_read: int
    rows_rejected: int
    added: int
    replaced: int
    unchanged: int
    days: list[date]
    rejects_file: str | None = None


class OfficialCountRead(BaseModel):
    district_code: str
    day: date
    until: str  # "24:00" for the whole day
    new_confirmed: int
    new_asymptomatic: int
    conversions: int
    found_under_control: int | None
    found_on_surface: int | None
    source: str
    imported_at: datetime


class TrendPoint(BaseModel):
    """One day of a unit's trend; estimates are None before their window is complete."""

    day: date
    cases: int | None  # None: the day was not reported (unknown, never zero)
    surface_cases: int | None
    growth_rate: float | None = None
    rt_mean: float | None = None
    rt_lower: float | None = None
    rt_upper: float | None = None
    # New infections by the day first sampled (not the day reported): recorded so far, and the
    # nowcast of the final count with its 90 % band (None where the cases domain has no nowcast:
    # official counts). Growth and Rt are estimated on the nowcast where it exists.
    sampled_cases: int | None = None
    nowcast: float | None = None
    nowcast_lower: float | None = None
    nowcast_upper: float | None = None


class UnitTrend(BaseModel):
    """Growth, Rt and phase of a district (or of the city) on the last day."""

    code: str  # district code, or the city's code
    name: str
    day: date  # the day every figure below is of
    phase: Phase
    cases_last_day: int | None  # None: that day was not reported
    cases_last_week: int  # reported days only
    days_without_surface_case: int
    unknown_days: list[date]  # days of the series not reported (filled for the estimates)
    # The estimates are None where the data do not carry them (docs/analytics.md, "When the
    # data carry an estimate"): growth below GROWTH_MIN_CASES in its window, Rt with a
    # posterior coefficient of variation of RT_MAX_CV or more, or a day not reported.
    growth_enough_data: bool
    rt_enough_data: bool
    growth_rate: float | None
    growth_rate_lower: float | None
    growth_rate_upper: float | None
    doubling_time_days: float | None
    doubling_time_lower: float | None
    doubling_time_upper: float | None  # None with doubling_time set: not excluded from "never"
    halving_time_days: float | None
    halving_time_lower: float | None
    halving_time_upper: float | None
    rt_mean: float | None
    rt_median: float | None
    rt_lower: float | None  # 2.5 % (95 % credible interval)
    rt_upper: float | None  # 97.5 %
    series: list[TrendPoint]


class TrendParameters(BaseModel):
    source: Literal["aggregates", "official"]
    first_day: date
    last_day: date
    policy_version: str
    growth_window_days: int
    rt_window_days: int
    serial_interval_mean_days: float
    serial_interval_sd_days: float
    prior_mean: float
    prior_sd: float
    surface_zero_days: int
    rapid_doubling_days: float
    growth_min_cases: int
    rt_max_cv: float
    # What growth and Rt are estimated on: the new infections by day reported, or the nowcast of
    # the new infections by day first sampled (docs/analytics.md, Trend).
    estimated_on: Literal["reported", "nowcast"] = "reported"


class TrendRead(BaseModel):
    parameters: TrendParameters
    city: UnitTrend
    districts: list[UnitTrend]


class BandsRead(BaseModel):
    """Quantiles over the ensemble: 5, 25, 50, 75 and 95 % (the 50 % and 90 % bands)."""

    p05: list[float]
    p25: list[float]
    median: list[float]
    p75: list[float]
    p95: list[float]


class SpreadRead(BaseModel):
    """Quantiles over the ensemble of one figure (5, 25, 50, 75, 95 %)."""

    p05: float
    p25: float
    median: float
    p75: float
    p95: float


class ScenarioSpec(BaseModel):
    """A policy change against the baseline; a field left out keeps the baseline's value."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    screening_interval_days: float | None = Field(default=None, ge=1.0)
    no_screening: bool = False
    isolation_delay_days: int | None = Field(default=None, ge=0, le=14)
    mobility_cut: dict[str, float] = Field(default_factory=dict)  # district code → cut in [0, 1]
    lift_after_clean_days: int | None = Field(default=None, ge=1, le=60)
    restriction_contact_reduction: float | None = Field(default=None, ge=0.0, le=1.0)
    screening_coverage: float | None = Field(default=None, ge=0.0, le=1.0)
    test_sensitivity: float | None = Field(default=None, ge=0.0, le=1.0)


class ScenarioRead(BaseModel):
    """The knobs a forecast ran with (after the baseline's values were filled in)."""

    name: str
    screening_interval_days: float | None
    screening_coverage: float
    test_sensitivity: float
    isolation_delay_days: int
    mobility_cut: dict[str, float]
    lift_after_clean_days: int
    restriction_contact_reduction: float


class ForecastParameters(BaseModel):
    source: Literal["aggregates", "official"]
    calibration_first_day: date
    last_day: date
    first_forecast_day: date
    horizon_days: int
    runs: int  # 1 for the deterministic (mean-field) path
    seed: int
    policy_version: str
    units: list[str]  # district codes the model runs on, in the order of the arrays
    merged: dict[str, str]  # a unit without a census population → the host it is counted with
    pooled_growth: list[str]  # units with too few detections, given the city's growth rate


class DistrictForecastRead(BaseModel):
    code: str
    name: str
    growth_rate: float
    reproduction_number: float
    detections: BandsRead  # per forecast day
    infections: BandsRead


class ForecastRead(BaseModel):
    parameters: ForecastParameters
    scenario: ScenarioRead
    days: list[date]
    city_detections: BandsRead
    city_infections: BandsRead
    districts: list[DistrictForecastRead]


class ExpectedParameters(BaseModel):
    """Which forecast: the growth forecast recalibrated by its own past misses, the one the
    backtests score, on the series they read (`nowcast`: cases by day first sampled, the last
    days completed by the nowcast; `reported`: the daily aggregates; `official`)."""

    method: Literal["growth_recalibrated"]
    series: Literal["nowcast", "reported", "official"]
    history_first_day: date
    last_day: date
    first_forecast_day: date
    horizon_days: int
    runs: int
    seed: int
    lookback_days: int
    outer_lookback_days: int


class ExpectedDistrictRead(BaseModel):
    code: str
    name: str
    susceptible: float | None  # the cap of every quantile; None: no census population
    # The weight of the district's own last week's growth in its forecast, beside the city's
    # (`growth_forecast.pooled_rates`): 1 its own, near 0 the city's.
    own_growth: float
    infections: BandsRead  # new infections per forecast day


class ExpectedRead(BaseModel):
    parameters: ExpectedParameters
    days: list[date]
    city: BandsRead  # the city's sum forecast as a series of its own
    city_susceptible: float | None
    districts: list[ExpectedDistrictRead]


class ScenarioOutcomeRead(BaseModel):
    scenario: ScenarioRead
    city_detections: BandsRead  # per forecast day
    city_infections: BandsRead
    total_infections: SpreadRead  # city infections over the horizon
    infections_averted: SpreadRead  # against the baseline (the first scenario), paired runs
    district_total_infections: dict[str, SpreadRead]  # unit code → infections over the horizon


class ScenariosRead(BaseModel):
    parameters: ForecastParameters
    days: list[date]
    scenarios: list[ScenarioOutcomeRead]


class ForecastOptions(BaseModel):
    """How a forecast is run, whether of the policy in force or of scenarios beside it: the days
    ahead, the ensemble and its seed, the days the model is fitted to and the series it reads."""

    model_config = ConfigDict(frozen=True)

    horizon_days: int = Field(default=28, ge=7, le=60)
    runs: int = Field(default=200, ge=10, le=2000)
    seed: int = Field(default=0, ge=0)
    calibration_days: int = Field(default=10, ge=5, le=60)
    source: Literal["auto", "aggregates", "official"] = "auto"
    deterministic: bool = Field(
        default=False,
        description="The mean-field path (no randomness) instead of an ensemble",
    )


class ScenariosRequest(ForecastOptions):
    model_config = ConfigDict(extra="forbid")

    last_day: date | None = None
    scenarios: list[ScenarioSpec] | None = Field(default=None, max_length=12)


class BacktestRow(BaseModel):
    """Scores of the forecasts at one horizon, for one unit or all of them (``unit`` "all").

    Relative WIS is the model's mean weighted interval score over the hub baseline's (below 1:
    better than the baseline); coverage is the share of the values that came inside the band.
    """

    unit: str
    horizon_days: int
    forecasts: int
    # A ratio whose reference scored 0 while the model did not is infinite: null in JSON.
    relative_wis: float | None
    relative_wis_log: float | None
    coverage_50: float
    coverage_90: float
    # Mean absolute error of the median over persistence's.
    median_error_vs_persistence: float | None
    hub_coverage_50: float
    hub_coverage_90: float
    persistence_relative_wis: float | None


class BacktestRead(BaseModel):
    """A backtest: forecasts from every day in a range, each from the data known then."""

    series: str
    first_forecast_day: date
    last_forecast_day: date
    quantile_levels: list[float]
    rows: list[BacktestRow]
