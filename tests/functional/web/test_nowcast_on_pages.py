"""Where the cases domain holds the cases, the trend is estimated on the nowcast of the
infections by day first sampled, and the overview's curve and the forecast page draw it with
its band over the last days, which are still being recorded."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import at, growing_cases_recorded_late
from tests.factories.clock import TZ
from tests.factories.web import figure, log_in
from xietong.analytics import service as analytics_service
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.web.i18n import translate

DAY = date(2022, 11, 13)
DISTRICT = "500106"


def test_the_trend_and_the_pages_start_from_the_nowcast(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    growing_cases_recorded_late(session, protector, district_code=DISTRICT)
    analytics_service.refresh_aggregates(session, now=at(DAY + timedelta(days=3), 1), tz=TZ)
    log_in(app_client, session, role=Role.command)

    api = app_client.get(f"/api/analytics/trend?last_day={DAY.isoformat()}").json()
    assert api["parameters"]["estimated_on"] == "nowcast"
    last = api["city"]["series"][-1]
    # On the 13th: 28 detected, 10 of them recorded by its end; the nowcast estimates the rest.
    assert last["sampled_cases"] == 10
    assert last["nowcast_lower"] <= last["nowcast"] <= last["nowcast_upper"]
    assert last["nowcast"] > 20
    assert api["city"]["series"][0]["nowcast"] == api["city"]["series"][0]["sampled_cases"]

    page = app_client.get(f"/overview?day={DAY.isoformat()}")
    assert page.status_code == 200
    curve = figure(page.text, "epidemic-curve")
    band, line = curve["data"][2:4]
    assert line["name"] == translate("zh-Hans", "overview.nowcast")
    assert line["y"] == [p["nowcast"] for p in api["city"]["series"]]
    assert band["x"][0] >= (DAY - timedelta(days=7)).isoformat()

    forecast = app_client.get(f"/forecast?day={DAY.isoformat()}&horizon=7")
    assert forecast.status_code == 200
    names = [t.get("name") for t in figure(forecast.text, "forecast-chart")["data"]]
    assert translate("zh-Hans", "overview.nowcast") in names
