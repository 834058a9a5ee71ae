"""A district coordinator confirms a cluster through the screen alone, in a real browser: from
the list to the cluster's page, asked to confirm, a double click on "confirm" acting once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import Server, User
from tests.browser.test_work_decisions import _accept_dialogs
from tests.browser.test_work_pages import _building, _resident

TZ = ZoneInfo("Asia/Shanghai")
# A district no other browser test puts cases in, so its list holds this cluster alone.
DISTRICT = "500111"


def proposed_cluster(server: Server, command: User, district: str) -> int:
    """Two cases at home in one building of `district`, through the API: one proposed cluster."""
    building = _building(server, command, district, 1)
    for name in ("聚集甲", "聚集乙"):
        made = server.api(
            command,
            "POST",
            "/api/cases",
            json={
                "person_id": _resident(server, command, building, name),
                "classification": "confirmed",
                "detected_at": datetime.now(TZ).isoformat(),
                "report_district_code": district,
            },
        )
        assert made.status_code == 201, made.text
    found = server.api(command, "GET", f"/api/cases/clusters?district={district}")
    assert found.status_code == 200, found.text
    [cluster] = found.json()["items"]
    assert cluster["status"] == "proposed" and cluster["cases"] == 2
    return int(cluster["id"])


def _decisions(server: Server, cluster_id: int) -> list[str]:
    """The decisions recorded on the cluster, read from the server's own audit trail."""
    from sqlalchemy import select

    from xietong.auth.models import AuditEntry
    from xietong.storage.engine import build_engine, session_factory

    engine = build_engine(server.env["XIETONG_DATABASE_URL"])
    try:
        with session_factory(engine)() as session:
            return list(
                session.scalars(
                    select(AuditEntry.action).where(
                        AuditEntry.entity == "cluster", AuditEntry.entity_id == str(cluster_id)
                    )
                )
            )
    finally:
        engine.dispose()


def test_a_district_coordinator_confirms_a_cluster_once_with_a_double_click(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    coordinator = server.create_user("district_coordinator", DISTRICT)
    cluster_id = proposed_cluster(server, command, DISTRICT)

    watched = open_page()
    watched.log_in(coordinator)
    watched.goto("/clusters")
    row = watched.page.locator(f'tr[data-cluster-id="{cluster_id}"]')
    assert row.get_attribute("data-status") == "proposed"
    watched.screenshot("clusters", for_docs=True)
    with watched.page.expect_navigation():
        row.locator(f'a[href="/clusters/{cluster_id}"]').click()
    watched.page.wait_for_selector("body[data-ready='1']", state="attached")
    assert watched.page.locator("#members tr[data-case-id]").count() == 2

    asked = _accept_dialogs(watched.page)
    watched.page.dblclick('#cluster button[data-decision="confirm"]')
    watched.page.wait_for_selector("#cluster[data-status='confirmed']")
    assert asked and all(message for message in asked)
    assert _decisions(server, cluster_id) == ["confirm"]
    assert watched.page.locator('button[data-decision="confirm"]').count() == 0
    watched.screenshot("cluster", for_docs=True)

    answer = server.api(coordinator, "GET", f"/api/cases/clusters/{cluster_id}")
    assert answer.json()["status"] == "confirmed"
    assert {m["status"] for m in answer.json()["members"]} == {"confirmed"}
    assert watched.console_errors == [] and watched.page_errors == []
