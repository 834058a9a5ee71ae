"""What is expected and what the measures change, side by side: the backtested forecast of the
next 14 days (`analytics.expected`, city-wide and per district) and the transmission model's
scenarios (`analytics.situation.compare_scenarios`, calibrated on the last complete day), each
remembered while its inputs are the same, and for the last complete day kept by the refresh job
(`analytics.page_results`), so that no view draws them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.analytics import page_results
from xietong.analytics import situation as analytics_situation
from xietong.analytics.expected import HISTORY_DAYS
from xietong.analytics.schemas import ExpectedRead, ScenariosRead
from xietong.core.clock import local_day
from xietong.core.errors import NotFound
from xietong.core.principal import Principal
from xietong.web import charts, memo
from xietong.web.data.overview import expected, trend
from xietong.web.i18n import Language, translate
from xietong.web.pages.listing import ListPage
from xietong.web.rendering import district_labels, render

router = APIRouter(include_in_schema=False)

HORIZONS = page_results.SCENARIO_HORIZONS
CALIBRATION_DAYS = page_results.CALIBRATION_DAYS
OBSERVED_DAYS = page_results.TREND_DAYS
# The days ahead whose quantiles the district table lists.
TABLE_DAYS = (7, 14)


def _remembered_scenarios(session: Session, *, last_day: date, horizon: int) -> ScenariosRead:
    first = last_day - timedelta(days=CALIBRATION_DAYS - 1)
    fingerprint = memo.series_fingerprint(session, first_day=first, last_day=last_day)
    options = page_results.scenario_options(horizon)
    # Kept by the refresh job for the last complete day: found in the database, else computed.
    kept = page_results.scenarios_key(last_day=last_day, options=options, fingerprint=fingerprint)
    return memo.remembered(
        ("scenarios", fingerprint, (last_day, options)),
        lambda: page_results.stored_or_computed(
            session,
            kept,
            ScenariosRead,
            lambda: analytics_situation.compare_scenarios(
                session, last_day=last_day, options=options
            ),
        ),
    )


def district_rows(ahead: ExpectedRead) -> list[dict[str, Any]]:
    """Per district: its quantiles on the days of `TABLE_DAYS`, most expected first."""
    rows = []
    for d in ahead.districts:
        bands = d.infections
        rows.append(
            {
                "code": d.code,
                "susceptible": d.susceptible,
                "own_growth": d.own_growth,
                "days": [
                    {
                        "median": bands.median[n - 1],
                        "p05": bands.p05[n - 1],
                        "p25": bands.p25[n - 1],
                        "p75": bands.p75[n - 1],
                        "p95": bands.p95[n - 1],
                    }
                    for n in TABLE_DAYS
                ],
            }
        )
    return sorted(rows, key=lambda row: (-row["days"][0]["median"], row["code"]))


def expected_method(ahead: ExpectedRead, lang: Language) -> str:
    """Which forecast the page shows, in words."""
    series = translate(lang, f"forecast.series.{ahead.parameters.series}")
    return translate(
        lang, "forecast.expected_method", n=ahead.parameters.horizon_days, series=series
    )


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
            scenarios = _remembered_scenarios(session, last_day=last_day, horizon=days_ahead)
            # The days observed are the forecast's history: one read of their series keys both.
            fingerprint = memo.series_fingerprint(
                session, first_day=last_day - timedelta(days=OBSERVED_DAYS - 1), last_day=last_day
            )
            shown = trend(session, last_day=last_day, days=OBSERVED_DAYS, fingerprint=fingerprint)
            observed = shown.city.series
            ahead = expected(
                session,
                last_day=last_day,
                tz=viewer.settings.timezone,
                fingerprint=fingerprint if OBSERVED_DAYS == HISTORY_DAYS else None,
            )
        except NotFound as exc:
            context["missing"] = exc.message
            return render(viewer, session, "forecast.html", context, query=query)
        names = {d.code: d.name(lang) for d in district_labels(session).values()}
        label = translate(lang, "forecast.observed")
        city = ahead.city
        context["forecast_json"] = charts.band_chart(
            observed_days=[p.day for p in observed],
            observed=[p.cases for p in observed],
            observed_label=label,
            series=[
                {
                    "name": translate(lang, "forecast.expected_median"),
                    "days": ahead.days,
                    "median": city.median,
                    "colour": charts.EXPECTED,
                    "bands": [(city.p05, city.p95), (city.p25, city.p75)],
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
        context.update(
            {
                "expected": ahead,
                "expected_method": expected_method(ahead, lang),
                "table_days": TABLE_DAYS,
                "scenarios": scenarios,
                "scenario_names": {
                    o.scenario.name: scenario_label(o.scenario.name, lang, names)
                    for o in scenarios.scenarios
                },
                "page": listing.page_of(district_rows(ahead)),
            }
        )
        return render(viewer, session, "forecast.html", context, query=query)

    return listing.guard(build)
