"""The wall's district map: every unit labelled once in either language, no two labels on top
of each other, the central nine in the inset, and each layer's districts in its classes."""

from __future__ import annotations

import pytest

from xietong.areas.reference import chongqing
from xietong.web import wallmap


def _map(lang: str, layers: list[wallmap.Layer] | None = None) -> wallmap.WallMap:
    city = chongqing()
    names = {d.code: (d.english if lang == "en" else d.name_hans) for d in city.districts}
    short = {
        d.code: wallmap.short_name(d.code, names[d.code], lang=lang, kind=d.kind)
        for d in city.districts
    }
    return wallmap.wall_map(layers=layers or [], names=names, short_names=short)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_unit_has_one_label_clear_of_the_others(lang: str) -> None:
    drawn = _map(lang)
    assert len(drawn.districts) == 41
    boxes = {
        d.code: wallmap._box(d.label.text, d.label.x, d.label.y, d.label.size)
        for d in drawn.districts
    }
    for a in boxes:
        for b in boxes:
            if a < b:
                assert not wallmap._overlaps(boxes[a], boxes[b]), (a, b)
    # Inside the canvas, and never shrunk below three quarters of the map's type.
    for d in drawn.districts:
        box = boxes[d.code]
        assert box[0] >= 0 and box[2] <= drawn.width and box[1] >= 0 and box[3] <= drawn.height
        assert d.label.size >= 0.72 * wallmap.INSET_FONT


def test_the_inset_enlarges_the_central_nine_and_labels_them_there() -> None:
    drawn = _map("zh")
    x0, y0, w, h = drawn.inset
    in_inset = {d.code for d in drawn.districts if d.inset_path}
    assert in_inset == set(wallmap.CENTRAL_NINE)
    for d in drawn.districts:
        if d.code in wallmap.CENTRAL_NINE:
            assert d.in_inset and x0 <= d.label.x <= x0 + w and y0 <= d.label.y <= y0 + h
    # The functional zones inside the central area are dots in the inset as well.
    assert {d.code for d in drawn.districts if d.in_inset and d.dot} == {"CQ-GX", "CQ-LJ"}
    labels = {d.code: d.label.text for d in drawn.districts}
    assert (
        labels["500106"] == "沙坪坝" and labels["500240"] == "石柱" and labels["500233"] == "忠县"
    )
    assert _map("en").districts[5].label.text == "Shapingba"


def test_each_layer_puts_a_district_in_the_class_of_its_share_of_the_highest() -> None:
    layer = wallmap.Layer("surface", "x", {"500106": 8, "500108": 2, "500101": 0, "500103": None})
    second = wallmap.Layer("zones", "y", {"500106": 0, "500108": 3})
    drawn = _map("zh", [layer, second])
    classes = {d.code: d.classes for d in drawn.districts}
    # One class per layer, named by the layer's position (the stylesheet colours the chosen one).
    assert classes["500106"] == "l0b4 l1b0"
    assert classes["500108"] == "l0b1 l1b4"
    assert classes["500101"] == "l0b0 l1b0" and classes["500103"] == "l0b0 l1b0"
    legend, _ = drawn.layers
    assert [s.text for s in legend.legend] == ["0", "1–2", "3–4", "5–6", "7–8"]


def test_a_map_has_no_more_layers_than_the_stylesheet_colours() -> None:
    layers = [wallmap.Layer(f"k{i}", "t", {}) for i in range(wallmap.MAX_LAYERS + 1)]
    with pytest.raises(ValueError, match="layers: at most"):
        _map("zh", layers)


def test_each_district_links_to_the_page_it_is_drawn_for() -> None:
    city = chongqing()
    names = {d.code: d.name_hans for d in city.districts}
    drawn = wallmap.wall_map(
        layers=[], names=names, short_names=names, link="/resources?district={code}#outlook"
    )
    assert {d.href for d in drawn.districts} == {
        f"/resources?district={code}#outlook" for code in names
    }
    assert _map("zh").districts[0].href.startswith("/zones?district=")


def test_flows_are_arcs_in_the_inset_between_central_districts_and_on_the_map_otherwise() -> None:
    city = chongqing()
    names = {d.code: d.name_hans for d in city.districts}
    flows = [
        wallmap.Flow("500106", "500108", 10),  # 沙坪坝 → 南岸: both in the inset
        wallmap.Flow("500101", "500106", 5),  # 万州 → 沙坪坝: across the map
        wallmap.Flow("500108", "500106", 1),  # back again: its own arc
        wallmap.Flow("500101", "500101", 3),  # to itself: nothing to draw
        wallmap.Flow("500102", "500103", 0),  # nothing moved
    ]
    drawn = wallmap.wall_map(layers=[], names=names, short_names=names, flows=flows)
    assert [(f.flow.source, f.flow.target, f.flow.amount) for f in drawn.flows] == [
        ("500106", "500108", 10),
        ("500101", "500106", 5),
        ("500108", "500106", 1),
    ]
    x0, y0, w, h = drawn.inset

    def ends(path: str) -> list[tuple[float, float]]:
        start, rest = path[1:].split("Q")
        points = [start, rest.split(" ")[1]]
        return [(float(p.split(",")[0]), float(p.split(",")[1])) for p in points]

    central, across, back = drawn.flows
    for x, y in ends(central.path) + ends(back.path):
        assert x0 <= x <= x0 + w and y0 <= y <= y0 + h
    assert ends(back.path) == ends(central.path)[::-1]
    # The arcs of A→B and B→A bend to opposite sides.
    assert central.path.split("Q")[1].split(" ")[0] != back.path.split("Q")[1].split(" ")[0]
    assert not all(x0 <= x <= x0 + w and y0 <= y <= y0 + h for x, y in ends(across.path))
    # The largest flow is drawn thickest.
    assert central.width > across.width > back.width
