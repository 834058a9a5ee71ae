"""Forecast and scenarios side by side: where the outbreak goes under the policy in force, and
what changes under the alternatives.

`analytics.situation.forecast_districts` and `compare_scenarios` with the API's defaults
(calibrated on the last complete day), remembered while their daily series is unchanged.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.analytics import situation as analytics_situation
from xietong.analytics.schemas import ForecastOptions, ForecastRead, ScenariosRead
from xietong.core.clock import local_day
from xietong.core.errors import NotFound
from xietong.core.principal import Principal
from xietong.web import charts, memo
from xietong.web.data.overview import trend
from xietong.web.i18n import Language, translate
from xietong.web.pages.listing import ListPage
from xietong.web.rendering import district_labels, render

router = APIRouter(include_in_schema=False)

HORIZONS = (14, 28)
RUNS = 200
SEED = 0
CALIBRATION_DAYS = 10
OBSERVED_DAYS = 28


def _remembered_forecast(
    session: Session, *, last_day: date, horizon: int
) -> tuple[ForecastRead, ScenariosRead]:
    first = last_day - timedelta(days=CALIBRATION_DAYS - 1)
    fingerprint = memo.series_fingerprint(session, first_day=first, last_day=last_day)
    options = ForecastOptions(
        horizon_days=horizon, runs=RUNS, seed=SEED, calibration_days=CALIBRATION_DAYS
    )
    asked = (last_day, options)
    forecast = memo.remembered(
        ("forecast", fingerprint, asked),
        lambda: analytics_situation.forecast_districts(session, last_day=last_day, options=options),
    )
    scenarios = memo.remembered(
        ("scenarios", fingerprint, asked),
        lambda: analytics_situation.compare_scenarios(session, last_day=last_day, options=options),
    )
    return forecast, scenarios


def scenario_label(name: str, lang: Language, names: dict[str, str]) -> str:
    """The words for a scenario the analytics service names in code."""
    if name == "baseline":
        return translate(lang, "scenario.baseline")
    if name == "screening_every_day":
        return translate(lang, "scenario.screening_every_day")
    if match := re.fullmatch(r"isolation_delay_(\d+)_days", name):
        return translate(lang, "scenario.isolation_delay", n=match.group(1))
    if match := re.fullmatch(r"mobility_cut_(.+)", name):
        code = match.group(1)
        return translate(lang, "scenario.mobility_cut", district=names.get(code, code))
    if match := re.fullmatch(r"lift_after_(\d+)_clean_days", name):
        return translate(lang, "scenario.lift_after", n=match.group(1))
    return name


@router.get("/forecast")
def forecast_page(
    listing: ListPage, day: str | None = None, horizon: int | None = None
) -> Response:
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        lang = viewer.lang
        yesterday = local_day(viewer.now, viewer.settings.timezone) - timedelta(days=1)
        try:
            last_day = min(date.fromisoformat(day), yesterday) if day else yesterday
        except ValueError:
            last_day = yesterday
        days_ahead = horizon if horizon in HORIZONS else HORIZONS[-1]
        query = listing.query({"day": last_day.isoformat(), "horizon": days_ahead})
        context: dict[str, Any] = {
            "charts": True,
            "last_day": last_day,
            "horizons": HORIZONS,
            "horizon": days_ahead,
            "missing": None,
        }
        try:
            forecast, scenarios = _remembered_forecast(
                session, last_day=last_day, horizon=days_ahead
            )
            shown = trend(session, last_day=last_day, days=OBSERVED_DAYS)
            observed = shown.city.series
        except NotFound as exc:
            context["missing"] = exc.message
            return render(viewer, session, "forecast.html", context, query=query)
        names = {d.code: d.name(lang) for d in district_labels(session).values()}
        label = translate(lang, "forecast.observed")
        context["forecast_json"] = charts.band_chart(
            observed_days=[p.day for p in observed],
            observed=[p.cases for p in observed],
            observed_label=label,
            series=[
                {
                    "name": translate(lang, "forecast.median"),
                    "days": forecast.days,
                    "median": forecast.city_detections.median,
                    "colour": charts.SERIES_COLOURS[0],
                    "bands": [
                        (forecast.city_detections.p05, forecast.city_detections.p95),
                        (forecast.city_detections.p25, forecast.city_detections.p75),
                    ],
                },
                # The forecast starts from the nowcast: shown with its band where there is one.
                *(
                    [
                        {
                            "name": translate(lang, "overview.nowcast"),
                            "days": [p.day for p in observed],
                            "median": [p.nowcast for p in observed],
                            "colour": charts.NOWCAST,
                            "bands": [
                                (
                                    [p.nowcast_lower for p in observed],
                                    [p.nowcast_upper for p in observed],
                                )
                            ],
                        }
                    ]
                    if shown.parameters.estimated_on == "nowcast"
                    else []
                ),
            ],
        )
        context["scenarios_json"] = charts.band_chart(
            observed_days=[p.day for p in observed],
            observed=[p.cases for p in observed],
            observed_label=label,
            series=[
                {
                    "name": scenario_label(o.scenario.name, lang, names),
                    "days": scenarios.days,
                    "median": o.city_detections.median,
                    "colour": charts.SERIES_COLOURS[i % len(charts.SERIES_COLOURS)],
                    "bands": [(o.city_detections.p25, o.city_detections.p75)],
                }
                for i, o in enumerate(scenarios.scenarios)
            ],
        )
        week = min(7, len(forecast.days))
        rows = sorted(
            (
                {
                    "code": d.code,
                    "r": d.reproduction_number,
                    "growth": d.growth_rate,
                    "week": sum(d.detections.median[:week]),
                    "last": d.detections.median[-1],
                }
                for d in forecast.districts
            ),
            key=lambda row: -float(row["week"]),
        )
        context.update(
            {
                "forecast": forecast,
                "scenarios": scenarios,
                "scenario_names": {
                    o.scenario.name: scenario_label(o.scenario.name, lang, names)
                    for o in scenarios.scenarios
                },
                "page": listing.page_of(rows),
                "week": week,
            }
        )
        return render(viewer, session, "forecast.html", context, query=query)

    return listing.guard(build)
