"""The overview on a wall, in a real browser: a change made elsewhere through the API reaches
the open page through the live stream and shows without a reload, with the time of the refresh
in the server's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import DAY, Server, User, _watch


def _record_case(server: Server, field: User, name: str) -> int:
    """An asymptomatic case recorded through the API by a district's field worker; its id."""
    person = server.create_person(field, name=name, district="500108")
    created = server.api(
        field,
        "POST",
        "/api/cases",
        json={
            "person_id": person,
            "classification": "asymptomatic",
            "detected_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_a_case_recorded_through_the_api_appears_on_the_open_overview_without_a_reload(
    server: Server, open_page: Any, command_centre: User
) -> None:
    field = server.create_user("field_worker", "500108")
    watched = open_page()
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}")
    page = watched.page
    page.wait_for_selector("body[data-live-state='open']", state="attached")
    before = int(page.inner_text("#shift-new-cases dd").replace(",", ""))
    stamp = page.get_attribute("#overview-refreshed", "data-server-now")
    # A mark only this document carries: a reload would drop it.
    page.evaluate("document.body.dataset.kept = 'yes'")

    _record_case(server, field, "钱七")

    page.locator(f"#shift-new-cases dd:text-is('{before + 1}')").wait_for()
    page.locator(f"#overview-refreshed:not([data-server-now='{stamp}'])").wait_for(state="attached")
    assert page.get_attribute("body", "data-kept") == "yes"
    assert "刷新于" in page.inner_text("#overview-refreshed")
    assert watched.page_errors == []


def test_a_reclassification_and_a_link_removed_elsewhere_refresh_the_open_overview(
    server: Server, open_page: Any, command_centre: User
) -> None:
    field = server.create_user("field_worker", "500108")
    ids = [_record_case(server, field, name) for name in ("孙八", "周九")]
    linked = server.api(
        field,
        "POST",
        "/api/cases/links",
        json={
            "source_case_id": ids[0],
            "target_case_id": ids[1],
            "evidence_kind": "household",
            "evidence": "同住",
        },
    )
    assert linked.status_code == 201, linked.text
    # Everything above happened before the page opened: each refresh below is the change's own.
    watched = open_page()
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}")
    page = watched.page
    page.wait_for_selector("body[data-live-state='open']", state="attached")
    page.evaluate("document.body.dataset.kept = 'yes'")

    def refreshed_after(change: Any) -> None:
        stamp = page.get_attribute("#overview-refreshed", "data-server-now")
        change()
        page.locator(f"#overview-refreshed:not([data-server-now='{stamp}'])").wait_for(
            state="attached"
        )

    refreshed_after(
        lambda: server.api(
            field, "POST", f"/api/cases/{ids[1]}/reclassify", json={"classification": "confirmed"}
        ).raise_for_status()
    )
    refreshed_after(
        lambda: server.api(
            field, "DELETE", f"/api/cases/links/{linked.json()['id']}"
        ).raise_for_status()
    )
    assert page.get_attribute("body", "data-kept") == "yes"
    assert watched.page_errors == []


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """The area two boxes share."""
    w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(w, 0) * max(h, 0)


def test_every_district_is_labelled_readably_with_the_central_nine_in_an_inset(
    server: Server, browser: Any, command_centre: User
) -> None:
    for lang in ("zh", "en"):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        try:
            watched = _watch(context, server.url)
            watched.log_in(command_centre)
            watched.goto(f"/overview?day={DAY}&lang={lang}")
            page = watched.page
            labels = page.locator("#district-map text[data-label]")
            codes = [labels.nth(i).get_attribute("data-label") for i in range(labels.count())]
            assert len(codes) == 41 and len(set(codes)) == 41
            boxes = {}
            for i, code in enumerate(codes):
                box = labels.nth(i).bounding_box()
                assert box is not None and box["width"] > 0, code
                # Readable on the wall: no label is drawn under 9 px.
                assert box["height"] >= 9, (code, box)
                boxes[code] = box
            for a in codes:
                for b in codes:
                    if a < b:
                        shared = _overlap(boxes[a], boxes[b])
                        smaller = min(
                            boxes[a]["width"] * boxes[a]["height"],
                            boxes[b]["width"] * boxes[b]["height"],
                        )
                        # Glyph boxes include the line's leading: a sliver may touch, no more.
                        assert shared <= 0.1 * smaller, (lang, a, b)
            inset = page.locator("#map-inset a[data-inset='1']")
            central = {inset.nth(i).get_attribute("data-district") for i in range(inset.count())}
            assert central == {
                "500103",
                "500104",
                "500105",
                "500106",
                "500107",
                "500108",
                "500109",
                "500112",
                "500113",
            }
            # The central districts' labels are in the inset's frame.
            frame = page.locator("#map-inset .inset-frame").bounding_box()
            assert frame is not None
            for code in central:
                box = boxes[code]
                assert (
                    frame["x"] <= box["x"]
                    and box["x"] + box["width"] <= frame["x"] + frame["width"]
                )
            watched.screenshot(f"overview-map-{lang}", for_docs=lang == "zh")
        finally:
            context.close()


def test_the_map_layers_switch_and_each_has_its_figures_in_a_table(
    server: Server, open_page: Any, command_centre: User
) -> None:
    watched = open_page()
    watched.page.set_viewport_size({"width": 1440, "height": 900})
    watched.log_in(command_centre)
    # The seeded areas were locked today: the map's layer of risk areas is of the day shown.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    watched.goto(f"/overview?day={today}")
    page = watched.page
    legends = {
        key: page.locator(f"#district-map .legend-{key}") for key in ("surface", "zones", "overdue")
    }
    assert legends["surface"].is_visible() and not legends["zones"].is_visible()
    # 沙坪坝区 has two areas locked in the seeded city: dark on the layer of risk areas only.
    shape = page.locator("#district-map .districts a[data-district='500106'] path")
    fill_before = shape.evaluate("el => getComputedStyle(el).fill")
    page.locator("#map-layer-zones").check()
    assert legends["zones"].is_visible() and not legends["surface"].is_visible()
    assert shape.evaluate("el => getComputedStyle(el).fill") != fill_before
    page.locator("#map-layer-overdue").check()
    assert legends["overdue"].is_visible()
    page.locator("#district-map-table summary").click()
    table = page.locator("#district-map-table table")
    assert table.is_visible()
    headers = table.locator("thead th").all_inner_texts()
    assert any("新增社会面" in h for h in headers)
    assert any("封控区域" in h for h in headers)
    assert any("超时协查" in h for h in headers)
    row = table.locator("tr[data-map-row='500106'] td").all_inner_texts()
    assert row[1] == "2"
