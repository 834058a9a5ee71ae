"""The refresh job computes the results the pages read for the last complete day (the trend, the
forecast per district and of the city, the forecast's quantiles, the scenarios) and keeps them
under the daily series they come from: read back they equal a fresh computation to the last bit,
a page finds them without computing, and a changed input is computed again."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TypeVar

from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.cases import at, growing_cases_recorded_late
from tests.factories.clock import TZ
from tests.factories.web import figure, log_in
from xietong.analytics import expected as analytics_expected
from xietong.analytics import page_results, situation
from xietong.analytics import service as analytics_service
from xietong.analytics.models import PageResult
from xietong.analytics.schemas import ExpectedRead, ScenariosRead, TrendRead
from xietong.areas import service as areas_service
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.web import memo
from xietong.web.i18n import translate

M = TypeVar("M", bound=BaseModel)

DAY = date(2022, 11, 13)
DISTRICT = "500106"
# The job runs on the morning after the day: that day is the last complete one.
MORNING_AFTER = at(DAY + timedelta(days=1), 8)
EVERY_KIND = ["trend", "expected", "expected_city", "quantiles_14", "scenarios_14", "scenarios_28"]


def _cases(session: Session, protector: PersonalDataProtector) -> None:
    growing_cases_recorded_late(session, protector, district_code=DISTRICT)
    analytics_service.refresh_aggregates(session, now=at(DAY + timedelta(days=3), 1), tz=TZ)


def _kept(session: Session, key: page_results.ResultKey, model: type[M]) -> M:
    """The result the job kept under `key` (computing it fails the test)."""

    def not_computed() -> M:
        raise AssertionError(f"{key.kind}: computed, not read")

    return page_results.stored_or_computed(session, key, model, not_computed)


def test_the_kept_results_equal_a_fresh_computation_to_the_last_bit(
    session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)

    assert page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ) == EVERY_KIND
    # Nothing changed since: the next run computes nothing.
    assert page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ) == []

    days = page_results.TREND_DAYS
    fingerprint = page_results.series_fingerprint(
        session, first_day=DAY - timedelta(days=days - 1), last_day=DAY
    )
    trend = _kept(
        session, page_results.trend_key(last_day=DAY, days=days, fingerprint=fingerprint), TrendRead
    )
    assert trend == situation.trend(session, last_day=DAY, days=days)

    inputs = analytics_expected.expected_inputs(session, last_day=DAY, tz=TZ)
    for per_district in (True, False):
        key = page_results.expected_key(
            last_day=DAY,
            tz=TZ,
            fingerprint=fingerprint,
            populations=page_results.district_populations(session),
            per_district=per_district,
        )
        kept = _kept(session, key, ExpectedRead)
        fresh = analytics_expected.expected_forecast(inputs, per_district=per_district)
        assert kept == fresh
        assert kept.model_dump_json() == fresh.model_dump_json()
    quantiles = page_results.quantiles(session, inputs, horizon_days=14)
    assert not quantiles.flags.writeable
    assert quantiles.tobytes() == analytics_expected.expected_quantiles(inputs).tobytes()

    calibration = page_results.series_fingerprint(
        session,
        first_day=DAY - timedelta(days=page_results.CALIBRATION_DAYS - 1),
        last_day=DAY,
    )
    options = page_results.scenario_options(28)
    scenarios = _kept(
        session,
        page_results.scenarios_key(last_day=DAY, options=options, fingerprint=calibration),
        ScenariosRead,
    )
    assert scenarios == situation.compare_scenarios(session, last_day=DAY, options=options)


def test_the_pages_show_the_kept_forecast_without_computing_it(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ)
    # A number no computation gives, kept as the city's median on the first day ahead: the
    # pages of a process that has computed nothing yet show it.
    for kind in ("expected", "expected_city"):
        row = session.scalar(select(PageResult).where(PageResult.kind == kind))
        assert row is not None
        kept = json.loads(row.payload)
        kept["city"]["median"][0] = 12345.5
        row.payload = json.dumps(kept)
    session.flush()
    memo.forget()
    log_in(app_client, session, role=Role.command)
    name = translate("zh", "forecast.expected_median")

    page = app_client.get(f"/forecast?day={DAY.isoformat()}")
    traces = figure(page.text, "forecast-chart")["data"]
    median = next(t for t in traces if t.get("name") == name and not t.get("fill"))
    assert median["y"][0] == 12345.5

    overview = app_client.get(f"/overview?day={DAY.isoformat()}")
    line = figure(overview.text, "epidemic-curve")["data"][-1]
    assert line["name"] == translate("zh", "overview.expected")
    assert line["y"][0] == 12345.5
    memo.forget()


def test_a_changed_input_is_computed_again_and_replaces_the_result_it_changes(
    session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ)
    # A census population caps the forecast: the forecasts are computed again, the trend and
    # the scenarios are not.
    areas_service.get_district(session, code=DISTRICT).population = 260
    session.flush()

    computed = page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ)

    assert computed == ["expected", "expected_city", "quantiles_14"]
    kinds = session.execute(select(PageResult.kind, func.count()).group_by(PageResult.kind)).all()
    assert dict(kinds) == dict.fromkeys(EVERY_KIND, 1)


def test_without_any_count_the_job_computes_nothing(session: Session) -> None:
    assert page_results.keep_page_results(session, now=MORNING_AFTER, tz=TZ) == []
    assert session.scalar(select(func.count()).select_from(PageResult)) == 0
