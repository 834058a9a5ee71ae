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
    drawn = _map("zh", [layer])
    classes = {d.code: d.classes for d in drawn.districts}
    assert classes["500106"] == "surface4"
    assert classes["500108"] == "surface1"
    assert classes["500101"] == "surface0" and classes["500103"] == "surface0"
    (legend,) = drawn.layers
    assert [s.text for s in legend.legend] == ["0", "1–2", "3–4", "5–6", "7–8"]
