"""The district map of the overview, the risk-area page and the mutual-aid page, drawn on the
server as SVG: every reporting unit labelled in the reader's language and a link to its page,
the nine central districts enlarged in an inset, layers the reader switches (each district's
shape carries its class on every layer; the stylesheet colours the chosen one), and flows
between districts drawn as arrows.

Why SVG rather than a WebGL map: the labels and the districts are part of the document, so a
keyboard reaches each district as a link, a screen reader reads its name and figures, the
labels are placed here without overlapping, and the picture needs no script to appear.

Shapes are projected once (equirectangular, scaled by the cosine of the middle latitude, which
keeps the shapes true at this size) and thinned to what a wall can show (a point within
`_THIN` units of the last kept one is dropped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from xietong.areas.reference import chongqing

# The nine districts of the central urban area (主城九区), which the inset enlarges.
CENTRAL_NINE = (
    "500103",  # 渝中区
    "500104",  # 大渡口区
    "500105",  # 江北区
    "500106",  # 沙坪坝区
    "500107",  # 九龙坡区
    "500108",  # 南岸区
    "500109",  # 北碚区
    "500112",  # 渝北区
    "500113",  # 巴南区
)
WIDTH = 1000.0
_MARGIN = 12.0
_THIN = 1.5
# The inset: its box on the main map's canvas (the empty north-west corner) and its margin.
_INSET = (8.0, 8.0, 430.0, 400.0)
_INSET_PAD = 14.0
FONT = 20.0
INSET_FONT = 18.0
# Short names on a map: the English names' first word, and these where that would mislead.
_SHORT_EN = {"CQ-GX": "Hi-tech Zone", "CQ-LJ": "Liangjiang", "CQ-WS": "Wansheng"}
_SHORT_ZH = {"CQ-GX": "高新区", "CQ-WS": "万盛"}
BUCKETS = 4
# Layers a map may have: the stylesheet colours the chosen one by its position among them.
MAX_LAYERS = 4
# Arrows: their thinnest and thickest stroke, and how far a curve bends off the straight line
# (so that the flows A→B and B→A are two arcs, not one line).
_FLOW_WIDTH = (2.0, 7.0)
_FLOW_BEND = 0.18


@dataclass(frozen=True)
class Layer:
    """One layer of the map: a figure per district code (None: not reported)."""

    key: str
    title: str
    values: Mapping[str, int | None]


class Flow(NamedTuple):
    """An amount moving from one district to another (code → code)."""

    source: str
    target: str
    amount: int


@dataclass(frozen=True)
class FlowLine:
    flow: Flow
    path: str  # an arc on the main map, or in the inset when both ends are there
    width: float


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class MapDistrict:
    code: str
    name: str
    path: str | None  # None: a unit without a shape of its own, drawn as a dot
    inset_path: str | None  # the shape again in the inset (the central nine)
    dot: tuple[float, float] | None
    label: Label
    in_inset: bool
    classes: str  # one class per layer: "l<position>b<bucket>"
    href: str
    values: dict[str, int | None]


@dataclass(frozen=True)
class LegendStep:
    bucket: int
    text: str


@dataclass(frozen=True)
class LayerView:
    key: str
    title: str
    legend: list[LegendStep]


@dataclass(frozen=True)
class WallMap:
    width: float
    height: float
    districts: list[MapDistrict]
    inset: tuple[float, float, float, float]
    inset_source: tuple[float, float, float, float]
    layers: list[LayerView]
    highlight: str | None
    flows: list[FlowLine]


def short_name(code: str, name: str, *, lang: str, kind: str) -> str:
    """A unit's name as a map prints it: 沙坪坝, 石柱, Shapingba."""
    if lang == "en":
        return _SHORT_EN.get(code) or name.split(" ")[0]
    if code in _SHORT_ZH:
        return _SHORT_ZH[code]
    if kind == "自治县":
        return name[:2]
    if kind in ("区", "县") and len(name) > 2:
        return name[:-1]
    return name


def _rings(geometry: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    return [[(float(x), float(y)) for x, y in ring] for polygon in polygons for ring in polygon]


@dataclass(frozen=True)
class _Frame:
    """A projection of longitude/latitude onto the canvas."""

    west: float
    north: float
    scale: float
    cos: float
    dx: float = 0.0
    dy: float = 0.0

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            self.dx + (lon - self.west) * self.cos * self.scale,
            self.dy + (self.north - lat) * self.scale,
        )


def _bounds(rings: Iterable[list[tuple[float, float]]]) -> tuple[float, float, float, float]:
    rings = list(rings)
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _path(rings: Iterable[list[tuple[float, float]]], frame: _Frame) -> str:
    parts = []
    for ring in rings:
        kept: list[tuple[float, float]] = []
        for lon, lat in ring:
            x, y = frame.point(lon, lat)
            if kept and math.dist(kept[-1], (x, y)) < _THIN:
                continue
            kept.append((x, y))
        if len(kept) >= 3:
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in kept) + "Z")
    return "".join(parts)


@cache
def _geometry() -> tuple[
    float,
    dict[str, str],
    dict[str, str],
    dict[str, tuple[float, float]],
    dict[str, tuple[float, float]],
    tuple[float, float, float, float],
]:
    """Height, main and inset paths, main and inset anchors, and the inset's source box."""
    city = chongqing()
    shaped = {d.code: _rings(d.geometry) for d in city.districts if d.geometry is not None}
    west, south, east, north = _bounds(r for rings in shaped.values() for r in rings)
    cos = math.cos(math.radians((south + north) / 2))
    scale = (WIDTH - 2 * _MARGIN) / ((east - west) * cos)
    main = _Frame(west, north, scale, cos, _MARGIN, _MARGIN)
    height = 2 * _MARGIN + (north - south) * scale
    central = [r for code in CENTRAL_NINE for r in shaped[code]]
    c_west, c_south, c_east, c_north = _bounds(central)
    x0, y0, w, h = _INSET
    inner_w, inner_h = w - 2 * _INSET_PAD, h - 2 * _INSET_PAD - INSET_FONT
    c_scale = min(inner_w / ((c_east - c_west) * cos), inner_h / (c_north - c_south))
    used_w = (c_east - c_west) * cos * c_scale
    inset = _Frame(
        c_west, c_north, c_scale, cos, x0 + (w - used_w) / 2, y0 + _INSET_PAD + INSET_FONT
    )
    main_paths = {code: _path(rings, main) for code, rings in shaped.items()}
    inset_paths = {code: _path(shaped[code], inset) for code in CENTRAL_NINE}
    anchors = {d.code: main.point(*d.centroid) for d in city.districts}
    inset_anchors = {
        d.code: inset.point(*d.centroid)
        for d in city.districts
        if d.code in CENTRAL_NINE
        or (
            d.geometry is None
            and c_west <= d.centroid[0] <= c_east
            and c_south <= d.centroid[1] <= c_north
        )
    }
    sx0, sy0 = main.point(c_west, c_north)
    sx1, sy1 = main.point(c_east, c_south)
    return height, main_paths, inset_paths, anchors, inset_anchors, (sx0, sy0, sx1 - sx0, sy1 - sy0)


def _text_width(text: str, size: float) -> float:
    # CJK characters are a full em wide; Latin letters at most about 0.62 em in the fonts used.
    return sum(size if ord(ch) > 0x2E80 else size * 0.62 for ch in text)


Box = tuple[float, float, float, float]


def _box(text: str, x: float, y: float, size: float) -> Box:
    # The box a browser gives a line of text (with CJK fonts' ascent and descent about 1.4 em
    # around the baseline), and a little room either side so that two names never touch.
    w = _text_width(text, size) + size * 0.3
    return (x - w / 2, y - size * 1.05, x + w / 2, y + size * 0.4)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(
    anchors: Sequence[tuple[str, str, float, float]],
    *,
    size: float,
    avoid: Sequence[Box] = (),
    bounds: Box,
) -> dict[str, Label]:
    """Each (key, text, x, y) labelled at its anchor, or moved the least distance that keeps
    it clear of the labels placed before it and of `avoid` (the inset's box), and inside
    `bounds`; the font shrinks a little when no position is clear."""
    placed: dict[str, Label] = {}
    taken: list[Box] = list(avoid)
    offsets = sorted(
        ((dx * size * 0.5, dy * size * 0.5) for dx in range(-6, 7) for dy in range(-6, 7)),
        key=lambda o: math.hypot(*o),
    )
    for key, text, ax, ay in anchors:
        chosen: Label | None = None
        for scale in (1.0, 0.85, 0.72):
            s = size * scale
            for dx, dy in offsets:
                x, y = ax + dx, ay + dy + s * 0.3
                box = _box(text, x, y, s)
                inside = (
                    box[0] >= bounds[0]
                    and box[1] >= bounds[1]
                    and box[2] <= bounds[2]
                    and box[3] <= bounds[3]
                )
                if inside and not any(_overlaps(box, other) for other in taken):
                    chosen = Label(text, round(x, 1), round(y, 1), round(s, 1))
                    taken.append(box)
                    break
            if chosen is not None:
                break
        if chosen is None:  # nowhere clear: keep it at its anchor rather than lose it
            chosen = Label(text, round(ax, 1), round(ay, 1), round(size * 0.72, 1))
            taken.append(_box(text, ax, ay, size * 0.72))
        placed[key] = chosen
    return placed


def _bucket(value: int | None, top: int) -> int:
    if not value or top <= 0:
        return 0
    return max(1, min(BUCKETS, math.ceil(BUCKETS * value / top)))


def _legend(top: int) -> list[LegendStep]:
    steps = [LegendStep(0, "0")]
    lower = 1
    for bucket in range(1, BUCKETS + 1):
        upper = math.floor(bucket * top / BUCKETS) if top > 0 else 0
        if upper >= lower:
            steps.append(LegendStep(bucket, f"{lower}" if upper == lower else f"{lower}–{upper}"))
            lower = upper + 1
    return steps


def _arc(a: tuple[float, float], b: tuple[float, float]) -> str:
    """A gentle curve from a to b, bending to the left of its direction."""
    (ax, ay), (bx, by) = a, b
    mx, my = (ax + bx) / 2 - (by - ay) * _FLOW_BEND, (ay + by) / 2 + (bx - ax) * _FLOW_BEND
    return f"M{ax:.1f},{ay:.1f}Q{mx:.1f},{my:.1f} {bx:.1f},{by:.1f}"


def _flow_lines(
    flows: Sequence[Flow],
    anchors: Mapping[str, tuple[float, float]],
    inset_anchors: Mapping[str, tuple[float, float]],
) -> list[FlowLine]:
    """Each flow as an arc between its districts: in the inset when both ends are there (the
    central districts are too small on the main map to tell one arrow from another)."""
    top = max([f.amount for f in flows] + [0])
    thin, thick = _FLOW_WIDTH
    lines = []
    for flow in sorted(flows, key=lambda f: -f.amount):
        if flow.source == flow.target or flow.amount <= 0:
            continue
        where = anchors
        if flow.source in inset_anchors and flow.target in inset_anchors:
            where = inset_anchors
        if flow.source not in where or flow.target not in where:
            continue
        lines.append(
            FlowLine(
                flow=flow,
                path=_arc(where[flow.source], where[flow.target]),
                width=round(thin + (thick - thin) * flow.amount / top, 1),
            )
        )
    return lines


def wall_map(
    *,
    layers: Sequence[Layer],
    names: Mapping[str, str],
    short_names: Mapping[str, str],
    highlight: str | None = None,
    link: str = "/zones?district={code}",
    flows: Sequence[Flow] = (),
) -> WallMap:
    """The map of every unit in `names` (code → full name), labelled with `short_names`, each
    a link to `link` with its code, and `flows` between them drawn as arrows."""
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"layers: at most {MAX_LAYERS} on one map, got {len(layers)}")
    height, main_paths, inset_paths, anchors, inset_anchors, source = _geometry()
    tops = {layer.key: max([v or 0 for v in layer.values.values()] + [0]) for layer in layers}
    x0, y0, w, h = _INSET
    inset_box: Box = (x0, y0, x0 + w, y0 + h)
    codes = [code for code in names if code in anchors]
    outside = [c for c in codes if c not in inset_anchors]
    # Large units first: they have room, the small ones then find the gaps.
    outside.sort(key=lambda c: -len(main_paths.get(c, "")))
    main_labels = place_labels(
        [(c, short_names[c], *anchors[c]) for c in outside],
        size=FONT,
        avoid=[inset_box],
        bounds=(0.0, 0.0, WIDTH, height),
    )
    inside = [c for c in codes if c in inset_anchors]
    inset_labels = place_labels(
        [(c, short_names[c], *inset_anchors[c]) for c in inside],
        size=INSET_FONT,
        avoid=[(x0, y0, x0 + w, y0 + INSET_FONT + 6)],
        bounds=inset_box,
    )
    districts = []
    for code in codes:
        in_inset = code in inset_labels
        values = {layer.key: layer.values.get(code) for layer in layers}
        classes = " ".join(
            f"l{i}b{_bucket(values[layer.key], tops[layer.key])}" for i, layer in enumerate(layers)
        )
        dot = None
        if code not in main_paths:
            dot = inset_anchors[code] if in_inset else anchors[code]
        districts.append(
            MapDistrict(
                code=code,
                name=names[code],
                path=main_paths.get(code),
                inset_path=inset_paths.get(code),
                dot=dot,
                label=inset_labels[code] if in_inset else main_labels[code],
                in_inset=in_inset,
                classes=classes,
                values=values,
                href=link.replace("{code}", code),
            )
        )
    return WallMap(
        width=WIDTH,
        height=round(height, 1),
        districts=districts,
        inset=_INSET,
        inset_source=source,
        layers=[LayerView(layer.key, layer.title, _legend(tops[layer.key])) for layer in layers],
        highlight=highlight,
        flows=_flow_lines(flows, anchors, inset_anchors),
    )
