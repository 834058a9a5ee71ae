"""The aggregates over the API: refreshed by the command centre only, read by every role,
paginated and filtered by district and day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import Fact, MemoryDomain
from tests.factories.auth import command_user, district_user, make_user
from xietong.analytics import service
from xietong.areas import service as areas_service
from xietong.core.principal import Role


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_only_the_command_centre_refreshes(app_client: TestClient, session: Session) -> None:
    _, chief = command_user(session)
    _, coordinator = district_user(session, "500106")

    refused = app_client.post("/api/analytics/refresh", headers=auth(coordinator))
    done = app_client.post("/api/analytics/refresh", headers=auth(chief))

    assert refused.status_code == 403
    assert done.status_code == 200, done.text
    report = done.json()
    districts = len(areas_service.list_districts(session))
    assert report["cells_refreshed"] >= 2 * districts
    assert report["full"] is False and report["since"] is None


def test_aggregates_are_paginated_and_filtered_by_district_and_day(
    app_client: TestClient, session: Session
) -> None:
    cases = MemoryDomain("cases")
    district = areas_service.district_id_by_code(session)["500106"]
    now = datetime(2022, 11, 14, 12, tzinfo=UTC)
    for k in range(5):
        day = date(2022, 11, 8) + timedelta(days=k)
        cases.ingest(Fact(f"c{k}", district, day, "new_confirmed", k + 1, now))
    service.refresh_aggregates(session, now=now, providers=[cases.provider()])
    _, viewer = make_user(session, role=Role.viewer)

    page = app_client.get(
        "/api/analytics/aggregates",
        params={
            "district": "500106",
            "first_day": "2022-11-09",
            "last_day": "2022-11-12",
            "limit": 3,
        },
        headers=auth(viewer),
    ).json()
    rest = app_client.get(
        "/api/analytics/aggregates",
        params={
            "district": "500106",
            "first_day": "2022-11-09",
            "last_day": "2022-11-12",
            "limit": 3,
            "offset": 3,
        },
        headers=auth(viewer),
    ).json()

    assert page["total"] == 4
    assert [item["day"] for item in page["items"]] == ["2022-11-12", "2022-11-11", "2022-11-10"]
    assert [item["new_confirmed"] for item in page["items"]] == [5, 4, 3]
    assert page["items"][0]["district_code"] == "500106"
    assert page["items"][0]["tubes_sampled"] is None  # no screening domain in this run
    assert [item["day"] for item in rest["items"]] == ["2022-11-09"]


def test_an_unknown_district_is_not_found(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    response = app_client.get(
        "/api/analytics/aggregates", params={"district": "999999"}, headers=auth(token)
    )
    assert response.status_code == 404
