"""The refresh job computes the results the pages read for the last complete day (the trend, the
forecast per district and of the city, the forecast's quantiles, the scenarios) and keeps them
under the daily series they come from: read back they equal a fresh computation to the last bit,
a page finds them without computing, and a changed input is computed again."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories.analytics import official_csv, reference_14_nov_rows
from tests.factories.auth import command_user
from tests.factories.cases import at, growing_cases_recorded_late
from tests.factories.clock import TZ
from tests.factories.web import csrf_of, figure, log_in
from xietong.analytics import expected as analytics_expected
from xietong.analytics import page_results, situation
from xietong.analytics import service as analytics_service
from xietong.analytics.models import PageResult
from xietong.analytics.schemas import ExpectedRead, ScenariosRead, TrendRead
from xietong.api.deps import get_session_factory
from xietong.areas import service as areas_service
from xietong.core.clock import FixedClock
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.web import memo
from xietong.web.i18n import translate

M = TypeVar("M", bound=BaseModel)

DAY = date(2022, 11, 13)
DISTRICT = "500106"
# The job runs on the morning after the day: that day is the last complete one.
MORNING_AFTER = at(DAY + timedelta(days=1), 8)
# A refresh asked for over the API or the overview two days after the aggregates' last one.
LATER = at(DAY + timedelta(days=3), 8)
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


def _kinds_kept(session: Session) -> list[str]:
    return sorted(session.scalars(select(PageResult.kind)))


def _assert_every_result_kept(session: Session) -> None:
    assert _kinds_kept(session) == sorted(EVERY_KIND)
    # They are the results of the series as it now stands: the job has nothing left to compute.
    assert page_results.keep_page_results(session, now=LATER, tz=TZ) == []


def _refreshed_over_the_api(app_client: TestClient, session: Session) -> int:
    """POST /refresh at LATER as the command centre: its status code."""
    app_client.app.state.clock = FixedClock(LATER)  # type: ignore[attr-defined]
    _, chief = command_user(session)
    answer = app_client.post("/api/analytics/refresh", headers={"Authorization": f"Bearer {chief}"})
    return answer.status_code


def test_a_refresh_over_the_api_keeps_the_pages_results_after_answering(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)

    assert _refreshed_over_the_api(app_client, session) == 200

    _assert_every_result_kept(session)


def test_an_import_of_official_counts_keeps_the_results_of_the_counts_as_imported(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    app_client.app.state.clock = FixedClock(LATER)  # type: ignore[attr-defined]
    _, chief = command_user(session)
    upload = {"file": ("bulletin.csv", official_csv(reference_14_nov_rows()), "text/csv")}

    imported = app_client.post(
        "/api/analytics/official-counts", files=upload, headers={"Authorization": f"Bearer {chief}"}
    )

    assert imported.status_code == 200, imported.text
    _assert_every_result_kept(session)


def test_the_overviews_refresh_button_keeps_the_pages_results(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    log_in(app_client, session, role=Role.command)
    # After the log-in: its session's expiry is checked on the test's own clock.
    app_client.app.state.clock = FixedClock(LATER)  # type: ignore[attr-defined]

    refreshed = app_client.post(
        "/overview/refresh",
        data={"csrf": csrf_of(app_client), "next": "/overview"},
        follow_redirects=False,
    )

    assert refreshed.status_code == 303
    _assert_every_result_kept(session)


def test_results_that_cannot_be_kept_do_not_fail_the_refresh(
    app_client: TestClient,
    session: Session,
    protector: PersonalDataProtector,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _cases(session, protector)
    # The results' unit of work finds no database (gone since the refresh committed).
    unreachable = sessionmaker(create_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}"))
    app_client.app.dependency_overrides[get_session_factory] = lambda: unreachable  # type: ignore[attr-defined]

    with caplog.at_level(logging.ERROR, logger="xietong.analytics.tasks"):
        assert _refreshed_over_the_api(app_client, session) == 200

    assert _kinds_kept(session) == []
    assert "the pages' results were not computed" in caplog.text
