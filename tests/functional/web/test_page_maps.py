"""The risk-area and mutual-aid pages draw the overview's district map: each district a link to
its part of the page, layers fitting the page's work, the aid between districts as arrows, and
every figure in the tables behind the map's toggle."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.resources import DAY, JIULONGPO, SHAPINGBA, facility, plan_request, propose
from tests.factories.web import log_in
from tests.factories.zones import area, building
from xietong.core.principal import Role


def map_row(html: str, code: str) -> list[str]:
    """The figures of a district's row in the table behind the map's toggle."""
    row = html.split(f'data-map-row="{code}">')[1].split("</tr>")[0]
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def test_the_risk_area_map_has_a_layer_for_locked_areas_proposals_and_liftings(
    app_client: TestClient, session: Session
) -> None:
    area(session, building(session, "500106", 1), status="active")
    area(session, building(session, "500106", 2), status="lifting_proposed")
    area(session, building(session, "500108", 1), status="proposed")
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/zones").text
    assert "plotly" not in page and "data-figure" not in page
    for key in ("locked_high", "proposed", "lifting"):
        assert f'id="map-layer-{key}"' in page
    # Locked counts both active areas and those whose lifting is proposed.
    assert map_row(page, "500106") == ["2", "0", "1"]
    assert map_row(page, "500108") == ["0", "1", "0"]
    assert map_row(page, "500101") == ["0", "0", "0"]
    assert 'href="/zones?district=500106"' in page
    assert page.count('data-label="') == 41
    assert 'id="map-inset"' in page
    assert "封控中的高风险区" in page
    english = app_client.get("/zones?lang=en").text
    assert "High-risk areas locked" in english and "Liftings awaiting a decision" in english


def test_the_mutual_aid_map_shows_shortfalls_what_each_district_lends_and_the_plans_arrows(
    app_client: TestClient, session: Session
) -> None:
    facility(session, district_code=SHAPINGBA, beds=10)
    facility(session, district_code=JIULONGPO, beds=100)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [60]}))
    log_in(app_client, session, role=Role.command)
    page = app_client.get(
        f"/resources?resource=centralised_quarantine_bed&day={DAY.isoformat()}"
    ).text
    assert "plotly" not in page and "data-figure" not in page
    assert 'id="map-layer-short"' in page and 'id="map-layer-lent"' in page
    assert f"调配方案 #{plan.id}" in page
    # 九龙坡 takes in 50 of 沙坪坝's contacts: it lends, and the arrow runs from it to 沙坪坝.
    assert map_row(page, JIULONGPO)[1] == "50"
    assert map_row(page, SHAPINGBA)[1] == "0"
    assert f'data-flow="{JIULONGPO}-{SHAPINGBA}"' in page
    flows = page.split('id="district-map-flows"')[1].split("</table>")[0]
    assert re.search(r"<td>九龙坡区</td><td>沙坪坝区</td><td class=\"num\">50</td>", flows)
    assert 'id="map-flows" checked' in page
    link = f"/resources?resource=centralised_quarantine_bed&amp;day={DAY.isoformat()}"
    assert f'href="{link}&amp;district={SHAPINGBA}#outlook"' in page
    # Another resource, or a day the plan moves nothing: no arrows, and the page says so.
    other = app_client.get(f"/resources?resource=lab_tube&day={DAY.isoformat()}").text
    assert "data-flow=" not in other and "该日没有调配方案的支援" in other
