"""Backtests of the forecast: from every day in a range, forecast with the data up to that day,
score against what came, and set the scores beside the persistence and forecast-hub baselines, on
a published reference series or on the daily series of this deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from xietong.analytics.catalogue import Source
from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.backtest import METHODS, Backtest, run_backtest
from xietong.analytics.core.growth_forecast import GrowthModel
from xietong.analytics.nowcasting import reporting_triangle
from xietong.analytics.official_vintages import official_vintages
from xietong.analytics.reference_series import (
    ReferenceSeries,
    shanghai_2022_city,
    shanghai_2022_districts,
)
from xietong.analytics.schemas import BacktestRead, BacktestRow
from xietong.analytics.service import daily_series
from xietong.core.clock import DEFAULT_TZ
from xietong.core.errors import RowError, ValidationFailed

ReferenceName = Literal["shanghai-2022", "shanghai-2022-districts"]
HORIZONS: tuple[int, ...] = (7, 14)
_MODEL = GrowthModel()


def backtest_reference(
    *,
    series: ReferenceName,
    first_day: date,
    last_day: date,
    seed: int = 0,
    runs: int = 400,
) -> BacktestRead:
    """Backtest the forecast on a published series shipped with the package."""
    if series == "shanghai-2022":
        reference = shanghai_2022_city()
    else:
        # Days before 19 March serve as history only: the districts' sums fall short of the city
        # there (reference/shanghai-2022/PROVENANCE.md).
        reference = shanghai_2022_districts(first_day=date(2022, 3, 11))
    return backtest_series(reference, first_day=first_day, last_day=last_day, seed=seed, runs=runs)


def backtest_districts(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    source: Source = "auto",
    seed: int = 0,
    runs: int = 400,
    tz: str = DEFAULT_TZ,
) -> BacktestRead:
    """Backtest the forecast on this deployment's new infections per district.

    Where the cases domain holds the cases (no official counts in force), each forecast reads
    the cases by the day they were first sampled as they were recorded by the end of its
    forecast date, the last days completed by the nowcast (`nowcasting`), and is scored against
    the counts as recorded since. Official counts are read as they had been published by the
    end of each forecast date (the figures of later corrections not yet there, days not yet
    published missing) and scored against the figures in force now.
    """
    history_from = first_day - timedelta(days=_MODEL.window_days - 1)
    until = last_day + timedelta(days=max(HORIZONS))
    data = daily_series(session, first_day=history_from, last_day=until, source=source)
    if data.source == "official":
        reference = ReferenceSeries(
            name=f"districts ({data.source})",
            days=data.days,
            units=data.codes,
            counts=data.infections().T.astype(np.float64),
        )
        vintages = official_vintages(
            session,
            first_day=history_from,
            last_day=until,
            district_ids=[district.id for district in data.districts],
        )
        zone = ZoneInfo(tz)

        def published(origin: int) -> FloatArray:
            # Everything imported by the end of the forecast date's local day.
            end = datetime.combine(data.days[origin] + timedelta(days=1), time(0), tzinfo=zone)
            return vintages.as_of(end)[: origin + 1]

        return backtest_series(
            reference,
            first_day=first_day,
            last_day=last_day,
            seed=seed,
            runs=runs,
            known=published,
        )
    read = reporting_triangle(session, first_day=history_from, last_day=until, tz=tz)
    reference = ReferenceSeries(
        name="districts (cases by day first sampled, as recorded at each forecast date)",
        days=read.days,
        units=read.codes,
        counts=read.final().T,
    )
    return backtest_series(
        reference,
        first_day=first_day,
        last_day=last_day,
        seed=seed,
        runs=runs,
        known=lambda origin: read.completed(origin).T,
    )


def backtest_series(
    reference: ReferenceSeries,
    *,
    first_day: date,
    last_day: date,
    seed: int,
    runs: int,
    known: Callable[[int], FloatArray] | None = None,
) -> BacktestRead:
    """Backtest the forecast on any daily series (a published one, the twin's truth).

    ``known(origin)``, when given, is the series as it was known at the end of that day.
    """
    errors = []
    if last_day < first_day:
        errors.append(RowError("request", "last_day", "must not be before first_day"))
    earliest = reference.days[0] + timedelta(days=_MODEL.window_days - 1)
    latest = reference.days[-1] - timedelta(days=max(HORIZONS))
    if first_day < earliest:
        errors.append(
            RowError("request", "first_day", f"needs history: at the earliest {earliest}")
        )
    if last_day > latest:
        errors.append(
            RowError("request", "last_day", f"needs {max(HORIZONS)} days after: at most {latest}")
        )
    if errors:
        raise ValidationFailed(errors=errors)
    origins = np.arange(reference.index_of(first_day), reference.index_of(last_day) + 1)
    backtest = run_backtest(
        reference.counts,
        origins=origins,
        horizons=HORIZONS,
        rng=np.random.default_rng(seed),
        model=_MODEL,
        runs=runs,
        known=known,
    )
    rows = _rows(backtest, units=None)
    if len(reference.units) > 1:
        rows += _rows(backtest, units=reference.units)
    return BacktestRead(
        series=reference.name,
        first_forecast_day=first_day,
        last_forecast_day=last_day,
        quantile_levels=list(backtest.levels),
        rows=rows,
    )


def _rows(backtest: Backtest, *, units: tuple[str, ...] | None) -> list[BacktestRow]:
    """One row per horizon over all units (``units`` None) or per unit and horizon."""
    natural, log = backtest.scores(), backtest.scores(log=True)
    groups: list[tuple[str, slice | int]] = (
        [("all", slice(None))]
        if units is None
        else list(zip(units, range(len(units)), strict=True))
    )
    model, hub, persistence = (METHODS.index(m) for m in ("model", "hub_baseline", "persistence"))
    rows = []
    for name, where in groups:
        for k, horizon in enumerate(backtest.horizons):
            # (method, origin, district) of this horizon and unit
            nat = {key: value[:, :, k][..., where] for key, value in natural.items()}
            lg = {key: value[:, :, k][..., where] for key, value in log.items()}

            def mean(scores: dict[str, FloatArray], key: str, method: int) -> float:
                return float(np.mean(scores[key][method]))

            rows.append(
                BacktestRow(
                    unit=name,
                    horizon_days=horizon,
                    forecasts=int(np.size(nat["wis"][model])),
                    relative_wis=_ratio(mean(nat, "wis", model), mean(nat, "wis", hub)),
                    relative_wis_log=_ratio(mean(lg, "wis", model), mean(lg, "wis", hub)),
                    coverage_50=mean(nat, "coverage_50", model),
                    coverage_90=mean(nat, "coverage_90", model),
                    median_error_vs_persistence=_ratio(
                        mean(nat, "absolute_error", model),
                        mean(nat, "absolute_error", persistence),
                    ),
                    hub_coverage_50=mean(nat, "coverage_50", hub),
                    hub_coverage_90=mean(nat, "coverage_90", hub),
                    persistence_relative_wis=_ratio(
                        mean(nat, "wis", persistence), mean(nat, "wis", hub)
                    ),
                )
            )
    return rows


def _ratio(value: float, reference: float) -> float:
    """``value / reference``; 1 when both are 0 (both perfect), inf when only the reference is."""
    if reference == 0:
        return 1.0 if value == 0 else float("inf")
    return value / reference
