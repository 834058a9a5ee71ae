"""`xietong analytics`: refresh the daily aggregates, import official counts, read the trend,
the forecast and policy scenarios."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from xietong.analytics import (
    backtests,
    expected,
    official,
    page_results,
    situation,
    tasks,
)
from xietong.analytics.schemas import (
    BacktestRead,
    BandsRead,
    ForecastOptions,
    RefreshReport,
    ScenarioSpec,
)
from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.storage.engine import session_factory

app = typer.Typer(
    help="The situation picture: daily aggregates, trend, forecast, scenarios.",
    no_args_is_help=True,
)

SourceOption = Annotated[
    str,
    typer.Option(help="auto (official counts when imported for the period), aggregates, official."),
]
LastDayOption = Annotated[
    str | None, typer.Option(help="Last day of data (YYYY-MM-DD); yesterday by default.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")]
DeterministicOption = Annotated[
    bool,
    typer.Option(help="The mean-field path (no randomness) instead of an ensemble."),
]
CalibrationOption = Annotated[int, typer.Option(help="Days the model is fitted to (5–60).")]
_Answer = TypeVar("_Answer", bound=BaseModel)


def _last_day(value: str | None) -> date:
    if value is None:
        return local_day(context.now(), context.settings().timezone) - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day like 2022-11-13") from None


def _source(value: str) -> Literal["auto", "aggregates", "official"]:
    if value == "auto":
        return "auto"
    if value == "aggregates":
        return "aggregates"
    if value == "official":
        return "official"
    raise typer.BadParameter(f"source must be auto, aggregates or official, not {value!r}")


def _options(
    horizon: int, runs: int, seed: int, calibration_days: int, source: str, deterministic: bool
) -> ForecastOptions:
    """The forecast's options as typed, held to the API's bounds (a bad one names its option)."""
    try:
        return ForecastOptions(
            horizon_days=horizon,
            runs=runs,
            seed=seed,
            calibration_days=calibration_days,
            source=_source(source),
            deterministic=deterministic,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).replace("horizon_days", "horizon").replace("_", "-")
        raise typer.BadParameter(f"--{name}: {first['msg']}") from None


def _print_refresh(report: RefreshReport) -> None:
    console.print(
        f"{report.cells_refreshed} cells recounted ({report.cells_added} new) from "
        f"{', '.join(report.domains) or 'no domain'}; watermark {report.watermark:%Y-%m-%d %H:%M}Z"
    )
    if report.unknown_metrics:
        err_console.print(f"[yellow]ignored unknown metrics[/yellow]: {report.unknown_metrics}")
    if report.results_computed:
        console.print(f"pages' results computed: {', '.join(report.results_computed)}")


def _print_failure(exc: Exception) -> None:
    err_console.print(f"[red]refresh failed[/red]: {escape(str(exc))}", soft_wrap=True)


@app.command("refresh")
def refresh(
    full: Annotated[bool, typer.Option(help="Recount every cell (nightly).")] = False,
    every: Annotated[
        int | None, typer.Option(help="Keep running, one refresh every this many seconds.")
    ] = None,
) -> None:
    """Recount the daily aggregates whose facts changed since the last refresh."""
    tz = context.settings().timezone
    if every is None:
        try:
            report = tasks.run_refresh(
                session_factory(context.engine()), clock=context.clock(), tz=tz, full=full
            )
        except DomainError as exc:
            context.fail(exc)
        _print_refresh(report)
        return
    stop = threading.Event()
    try:
        tasks.refresh_periodically(
            session_factory(context.engine()),
            every=timedelta(seconds=every),
            stop=stop,
            clock=context.clock(),
            tz=tz,
            on_report=_print_refresh,
            on_error=_print_failure,
        )
    except KeyboardInterrupt:
        stop.set()


@app.command("import-official")
def import_official(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with district, day, new_confirmed, new_asymptomatic[, until, "
            "conversions, found_under_control, found_on_surface]."
        ),
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
) -> None:
    """Import published counts per district and day; a corrected file replaces the figures."""
    try:
        with context.work() as session, file.open(encoding="utf-8-sig", newline="") as stream:
            report = official.import_official_counts(
                session,
                principal=SYSTEM,
                stream=stream,
                source_name=file.name,
                now=context.now(),
                load_valid=load_valid,
                rejects_path=rejects,
            )
        # The pages' results of the counts as imported, as the refresh job computes them.
        with context.work() as session:
            page_results.keep_page_results(
                session, now=context.now(), tz=context.settings().timezone
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@app.command("trend")
def trend(
    last_day: LastDayOption = None,
    days: Annotated[int, typer.Option(help="Days of data read (at least 8).")] = 28,
    source: SourceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Growth rate, doubling time, Rt and phase of the city and of each district."""
    try:
        with context.work() as session:
            result = situation.trend(
                session, last_day=_last_day(last_day), days=days, source=_source(source)
            )
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(result.model_dump_json())
        return
    p = result.parameters
    table = Table(
        title=f"Trend on {p.last_day} ({p.source}, Rt window {p.rt_window_days} d, "
        f"serial interval {p.serial_interval_mean_days}±{p.serial_interval_sd_days} d)"
    )
    for column in ("unit", "phase", "cases (last day)", "r / day", "doubling", "Rt (95% CrI)"):
        table.add_column(column)
    for unit in [result.city, *sorted(result.districts, key=lambda u: -u.cases_last_week)]:
        if unit is not result.city and unit.cases_last_week == 0:
            continue
        rt = (
            f"{unit.rt_mean:.2f} ({unit.rt_lower:.2f}–{unit.rt_upper:.2f})"
            if unit.rt_mean is not None and unit.rt_lower is not None and unit.rt_upper is not None
            else "not enough data"
        )
        doubling = f"{unit.doubling_time_days:.1f} d" if unit.doubling_time_days else "—"
        table.add_row(
            f"{unit.name} {unit.code}",
            unit.phase.value,
            "not reported" if unit.cases_last_day is None else str(unit.cases_last_day),
            "not enough data" if unit.growth_rate is None else f"{unit.growth_rate:+.3f}",
            doubling,
            rt,
        )
    console.print(table)


@app.command("forecast")
def forecast(
    last_day: LastDayOption = None,
    horizon: Annotated[int, typer.Option(help="Days to forecast (7–60).")] = 28,
    runs: Annotated[int, typer.Option(help="Ensemble runs.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same forecast).")] = 0,
    calibration_days: CalibrationOption = 10,
    source: SourceOption = "auto",
    deterministic: DeterministicOption = False,
    as_json: JsonOption = False,
) -> None:
    """Forecast detections per district under the policy in force (median and 90 % band)."""
    result = _answer(
        lambda session: situation.forecast_districts(
            session,
            last_day=_last_day(last_day),
            options=_options(horizon, runs, seed, calibration_days, source, deterministic),
        ),
        as_json=as_json,
    )
    if result is not None:
        _print_bands(
            f"City detections from {result.days[0]} ({result.parameters.runs} runs)",
            result.days,
            result.city_detections,
        )


@app.command("expected")
def expected_forecast(last_day: LastDayOption = None, as_json: JsonOption = False) -> None:
    """The backtested forecast of new infections over the next 14 days: the growth forecast
    recalibrated by its own past misses, on the series the backtests read (median, 50 % and
    90 % bands; per district with --json)."""
    result = _answer(
        lambda session: expected.expected_infections(
            session, last_day=_last_day(last_day), tz=context.settings().timezone
        ),
        as_json=as_json,
    )
    if result is not None:
        _print_bands(
            f"City infections expected from {result.days[0]} "
            f"(backtested forecast, series: {result.parameters.series})",
            result.days,
            result.city,
        )


def _answer(work: Callable[[Session], _Answer], *, as_json: bool) -> _Answer | None:
    """`work`'s answer in one unit of work (a domain error ends the command); None once
    printed whole as JSON."""
    try:
        with context.work() as session:
            result = work(session)
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(result.model_dump_json())
        return None
    return result


def _print_bands(title: str, days: list[date], bands: BandsRead) -> None:
    table = Table(title=title)
    for column in ("day", "median", "50 % band", "90 % band"):
        table.add_column(column, justify="right")
    for k, day in enumerate(days):
        table.add_row(
            str(day),
            f"{bands.median[k]:,.0f}",
            f"{bands.p25[k]:,.0f}–{bands.p75[k]:,.0f}",
            f"{bands.p05[k]:,.0f}–{bands.p95[k]:,.0f}",
        )
    console.print(table)


@app.command("scenarios")
def scenarios(
    last_day: LastDayOption = None,
    horizon: Annotated[int, typer.Option(help="Days to forecast (7–60).")] = 28,
    runs: Annotated[int, typer.Option(help="Ensemble runs per scenario.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (common to all scenarios).")] = 0,
    cut: Annotated[
        list[str] | None,
        typer.Option(help="Only these scenarios: a travel cut of half in this district (code)."),
    ] = None,
    calibration_days: CalibrationOption = 10,
    source: SourceOption = "auto",
    deterministic: DeterministicOption = False,
    as_json: JsonOption = False,
) -> None:
    """Compare the policy in force with alternative policies on paired runs."""
    specs = (
        [ScenarioSpec(name=f"mobility_cut_{code}", mobility_cut={code: 0.5}) for code in cut]
        if cut
        else None
    )
    try:
        with context.work() as session:
            result = situation.compare_scenarios(
                session,
                last_day=_last_day(last_day),
                options=_options(horizon, runs, seed, calibration_days, source, deterministic),
                scenarios=specs,
            )
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(result.model_dump_json())
        return
    table = Table(title=f"Infections {result.days[0]} to {result.days[-1]}, city (median, 90 %)")
    for column in ("scenario", "infections", "averted vs baseline"):
        table.add_column(column, justify="right")
    for outcome in result.scenarios:
        total, averted = outcome.total_infections, outcome.infections_averted
        table.add_row(
            outcome.scenario.name,
            f"{total.median:,.0f} ({total.p05:,.0f}–{total.p95:,.0f})",
            f"{averted.median:,.0f} ({averted.p05:,.0f}–{averted.p95:,.0f})",
        )
    console.print(table)


_REFERENCE_RANGE = (date(2022, 3, 20), date(2022, 5, 31))


@app.command("backtest")
def backtest(
    series: Annotated[
        str,
        typer.Option(
            help="database (this deployment's series), or a published series shipped with "
            "xietong: shanghai-2022 (city), shanghai-2022-districts."
        ),
    ] = "database",
    first_day: Annotated[
        str | None,
        typer.Option(help="First forecast date; 2022-03-20 for the Shanghai series."),
    ] = None,
    last_day: Annotated[
        str | None,
        typer.Option(help="Last forecast date; 2022-05-31 for the Shanghai series."),
    ] = None,
    runs: Annotated[int, typer.Option(help="Ensemble runs per forecast.")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same scores).")] = 0,
    source: SourceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Forecast from every day in a range with the data known then; score against the baselines."""
    try:
        if series == "database":
            if first_day is None or last_day is None:
                raise typer.BadParameter("--first-day and --last-day are needed for the database")
            with context.work() as session:
                result = backtests.backtest_districts(
                    session,
                    first_day=_last_day(first_day),
                    last_day=_last_day(last_day),
                    source=_source(source),
                    seed=seed,
                    runs=runs,
                )
        elif series in ("shanghai-2022", "shanghai-2022-districts"):
            result = backtests.backtest_reference(
                series="shanghai-2022" if series == "shanghai-2022" else "shanghai-2022-districts",
                first_day=_last_day(first_day) if first_day else _REFERENCE_RANGE[0],
                last_day=_last_day(last_day) if last_day else _REFERENCE_RANGE[1],
                seed=seed,
                runs=runs,
            )
        else:
            raise typer.BadParameter(f"unknown series {series!r}")
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(result.model_dump_json())
        return
    console.print(backtest_table(result))


def backtest_table(result: BacktestRead) -> Table:
    """The scores of a backtest as a table: one row per unit and horizon."""
    table = Table(
        title=f"{result.series}: forecasts from {result.first_forecast_day} to "
        f"{result.last_forecast_day}, against the forecast hub's baseline"
    )
    columns = (
        "unit",
        "horizon",
        "forecasts",
        "rel. WIS",
        "rel. WIS log",
        "50 % cov.",
        "90 % cov.",
        "MAE / persistence",
        "hub 50 %",
        "hub 90 %",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "unit" else "right")
    for row in result.rows:
        table.add_row(
            row.unit,
            f"{row.horizon_days} d",
            str(row.forecasts),
            f"{row.relative_wis:.2f}",
            f"{row.relative_wis_log:.2f}",
            f"{row.coverage_50:.0%}",
            f"{row.coverage_90:.0%}",
            f"{row.median_error_vs_persistence:.2f}",
            f"{row.hub_coverage_50:.0%}",
            f"{row.hub_coverage_90:.0%}",
        )
    return table
