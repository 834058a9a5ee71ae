"""Routes of the situation picture: daily aggregates, official counts, trend, forecasts, scenarios.

Aggregates hold no personal data: every signed-in role reads them. Refreshing and importing
official counts are the command centre's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, UploadFile

from xietong.analytics import backtests, expected, official, service, situation, tasks
from xietong.analytics.catalogue import METRICS
from xietong.analytics.daily_rows import DistrictDays
from xietong.analytics.schemas import (
    AggregateRead,
    BacktestRead,
    ExpectedRead,
    ForecastOptions,
    ForecastRead,
    OfficialCountRead,
    OfficialImportReport,
    RefreshReport,
    ScenariosRead,
    ScenariosRequest,
    TrendRead,
)
from xietong.api.deps import (
    ClockDep,
    NowDep,
    PageDep,
    PrincipalDep,
    ReadSessionDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    uploaded_csv,
)
from xietong.areas import service as areas_service
from xietong.core.clock import local_day
from xietong.core.errors import PermissionDenied
from xietong.core.pagination import Page
from xietong.core.principal import Principal, Role

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

SourceQuery = Annotated[
    Literal["auto", "aggregates", "official"],
    Query(description="auto: the official counts when imported for the period, else aggregates"),
]


def _yesterday(now: datetime, timezone: str) -> date:
    # The last complete local day: today's counts are still coming in.
    return local_day(now, timezone) - timedelta(days=1)


def _district_days(
    session: SessionDep,
    district: str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> DistrictDays:
    """`?district=&first_day=&last_day=` of a per-district daily list (a district by its code)."""
    district_id = areas_service.get_district(session, code=district).id if district else None
    return DistrictDays(district_id=district_id, first_day=first_day, last_day=last_day)


DistrictDaysDep = Annotated[DistrictDays, Depends(_district_days)]


def _keep_results_later(
    background: BackgroundTasks, factory: SessionFactoryDep, clock: ClockDep, settings: SettingsDep
) -> Callable[[], None]:
    """Once called (the counts changed), the pages' results as the refresh job keeps them are
    computed after this unit of work has committed and the caller has its answer: it does not
    wait for seconds of forecasting."""

    def later() -> None:
        background.add_task(
            tasks.keep_results_after_response, factory, clock=clock, tz=settings.timezone
        )

    return later


KeepResultsLaterDep = Annotated[Callable[[], None], Depends(_keep_results_later)]


def _command_only(principal: Principal, action: str) -> None:
    if principal.role is not Role.command:
        raise PermissionDenied(f"only the command centre may {action}")


@router.get("/aggregates", summary="Daily aggregates per district, newest day first")
def list_aggregates(
    paging: PageDep,
    session: ReadSessionDep,
    _principal: PrincipalDep,
    wanted: DistrictDaysDep,
) -> Page[AggregateRead]:
    rows, total = service.list_aggregates(
        session, wanted=wanted, limit=paging.limit, offset=paging.offset
    )
    codes = areas_service.district_code_by_id(session)
    return Page.of(
        [
            AggregateRead(
                district_code=codes[row.district_id],
                day=row.day,
                refreshed_at=row.refreshed_at,
                **{name: getattr(row, name) for name in METRICS},
            )
            for row in rows
        ],
        total=total,
        params=paging,
    )


@router.post("/refresh", summary="Recount the aggregates that changed since the last refresh")
def refresh(
    now: NowDep,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    keep_results_later: KeepResultsLaterDep,
    full: bool = False,
) -> RefreshReport:
    _command_only(principal, "refresh the aggregates")
    report = service.refresh_aggregates(session, now=now, tz=settings.timezone, full=full)
    keep_results_later()
    return report


@router.post("/official-counts", summary="Import official counts per district and day (CSV)")
def import_official_counts(
    now: NowDep,
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    keep_results_later: KeepResultsLaterDep,
) -> OfficialImportReport:
    text = uploaded_csv(file)
    report = official.import_official_counts(
        session,
        principal=principal,
        stream=text,
        source_name=file.filename or "upload",
        now=now,
    )
    keep_results_later()
    return report


@router.get("/official-counts", summary="Imported official counts, newest day first")
def list_official_counts(
    paging: PageDep,
    session: ReadSessionDep,
    _principal: PrincipalDep,
    wanted: DistrictDaysDep,
) -> Page[OfficialCountRead]:
    rows, total = official.list_official_counts(
        session, wanted=wanted, limit=paging.limit, offset=paging.offset
    )
    codes = areas_service.district_code_by_id(session)
    return Page.of(
        [
            OfficialCountRead(
                district_code=codes[row.district_id],
                day=row.day,
                until=official.format_until(row.until_minute),
                new_confirmed=row.new_confirmed,
                new_asymptomatic=row.new_asymptomatic,
                conversions=row.conversions,
                found_under_control=row.found_under_control,
                found_on_surface=row.found_on_surface,
                source=row.source,
                imported_at=row.imported_at,
            )
            for row in rows
        ],
        total=total,
        params=paging,
    )


@router.get("/trend", summary="Growth rate, Rt and phase of every district and of the city")
def trend(
    now: NowDep,
    session: ReadSessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    last_day: Annotated[date | None, Query(description="Default: yesterday")] = None,
    days: Annotated[int, Query(ge=situation.MIN_TREND_DAYS, le=366)] = 28,
    source: SourceQuery = "auto",
) -> TrendRead:
    return situation.trend(
        session, last_day=last_day or _yesterday(now, settings.timezone), days=days, source=source
    )


@router.get("/forecast", summary="Forecast per district under the policy in force, with bands")
def forecast(
    now: NowDep,
    session: ReadSessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    options: Annotated[ForecastOptions, Query()],
    last_day: Annotated[date | None, Query(description="Default: yesterday")] = None,
) -> ForecastRead:
    return situation.forecast_districts(
        session, last_day=last_day or _yesterday(now, settings.timezone), options=options
    )


@router.get(
    "/expected", summary="The backtested forecast of the next 14 days, per district and city-wide"
)
def expected_forecast(
    now: NowDep,
    session: ReadSessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    last_day: Annotated[date | None, Query(description="Default: yesterday")] = None,
) -> ExpectedRead:
    return expected.expected_infections(
        session, last_day=last_day or _yesterday(now, settings.timezone), tz=settings.timezone
    )


@router.get("/backtest", summary="Forecasts from every day in a range scored against the baselines")
def backtest(
    session: ReadSessionDep,
    _principal: PrincipalDep,
    first_day: Annotated[date, Query(description="First forecast date")],
    last_day: Annotated[date, Query(description="Last forecast date (14 days of data after it)")],
    series: Annotated[
        Literal["database", "shanghai-2022", "shanghai-2022-districts"],
        Query(description="This deployment's daily series, or a published one shipped with it"),
    ] = "database",
    runs: Annotated[int, Query(ge=10, le=2000)] = 400,
    seed: Annotated[int, Query(ge=0)] = 0,
    source: SourceQuery = "auto",
) -> BacktestRead:
    if series == "database":
        return backtests.backtest_districts(
            session, first_day=first_day, last_day=last_day, source=source, seed=seed, runs=runs
        )
    return backtests.backtest_reference(
        series=series, first_day=first_day, last_day=last_day, seed=seed, runs=runs
    )


@router.post("/scenarios", summary="Policy scenarios against the policy in force, side by side")
def scenarios(
    now: NowDep,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    request: Annotated[ScenariosRequest | None, Body()] = None,
) -> ScenariosRead:
    request = request or ScenariosRequest()
    return situation.compare_scenarios(
        session,
        last_day=request.last_day or _yesterday(now, settings.timezone),
        scenarios=request.scenarios,
        options=request,
    )
