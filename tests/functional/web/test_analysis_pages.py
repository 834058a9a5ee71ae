"""Resources, forecast and bulletin on screen, each from the same service as its API route."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import (
    import_official,
    municipal_series_rows,
    reference_14_nov_rows,
)
from tests.factories.resources import facility, window
from tests.factories.web import csrf_of, log_in
from xietong.core.principal import Role
from xietong.mutual_aid.models import AidPlan


def test_the_resources_page_shows_the_capacity_a_district_reported(
    app_client: TestClient, session: Session
) -> None:
    place = facility(session, district_code="500106", beds=120)
    window(session, place, capacity=120)
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/resources?district=500106&resource=centralised_quarantine_bed")
    assert page.status_code == 200
    table = page.text.split('id="outlook"')[1]
    assert "沙坪坝区" in table
    assert ">120<" in table


def test_the_command_centre_proposes_and_approves_a_plan(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    csrf = csrf_of(app_client)
    proposed = app_client.post("/resources/plans", data={"csrf": csrf}, follow_redirects=False)
    assert proposed.status_code == 303, proposed.text
    plan = session.query(AidPlan).order_by(AidPlan.id.desc()).first()
    assert plan is not None and plan.status == "proposed"
    assert f"#{plan.id}" in app_client.get("/resources").text
    approved = app_client.post(
        f"/resources/plans/{plan.id}/approve", data={"csrf": csrf}, follow_redirects=False
    )
    assert approved.status_code == 303
    session.refresh(plan)
    assert plan.status == "approved"


def test_a_district_cannot_approve_a_plan(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.command)
    app_client.post("/resources/plans", data={"csrf": csrf_of(app_client)})
    plan = session.query(AidPlan).order_by(AidPlan.id.desc()).first()
    assert plan is not None
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    refused = app_client.post(
        f"/resources/plans/{plan.id}/approve", data={"csrf": csrf_of(app_client)}
    )
    assert refused.status_code == 403
    session.refresh(plan)
    assert plan.status == "proposed"


def test_the_forecast_and_its_scenarios_stand_side_by_side(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/forecast?day=2022-11-13&horizon=14")
    assert page.status_code == 200
    assert 'data-figure="forecast-chart-data"' in page.text
    assert 'data-figure="scenarios-chart-data"' in page.text
    scenarios = page.text.split('id="scenarios"')[1].split("</table>")[0]
    assert "现行政策（基线）" in scenarios
    assert "每天一检" in scenarios
    assert 'id="districts-forecast"' in page.text


def test_the_bulletin_reads_as_the_api_gives_it_and_downloads(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, reference_14_nov_rows())
    log_in(app_client, session, role=Role.viewer)
    page = app_client.get("/bulletin?day=2022-11-14&until=18")
    assert page.status_code == 200
    api = app_client.get("/api/reports/bulletin?date=2022-11-14&until=18:00&format=text").text
    assert "沙坪坝区27例" in api
    download = app_client.get("/bulletin.txt?day=2022-11-14&until=18")
    assert download.text == api
    assert "attachment" in download.headers["content-disposition"]
    assert 'data-copy-target="bulletin-text"' in page.text
    assert api.strip().split("\n")[0].replace("—", "") in page.text.replace("—", "")


def test_the_bulletin_in_english(app_client: TestClient, session: Session) -> None:
    import_official(session, reference_14_nov_rows())
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/bulletin?day=2022-11-14&until=18&language=en&lang=en")
    assert "Shapingba" in page.text
