"""Plotly figures of the dashboard, built in Python and sent to the page as JSON.

The district map is a `Choroplethmap` on the `white-bg` style with the bundled district shapes,
so it draws with no base-map download; functional zones without a shape of their own are dots at
their centroids. The shapes are served once at `SHAPES_URL` (cached by the browser) rather than
inside every figure. Each function takes plain numbers and returns the figure's JSON text.

The charts every overview draws (the district map, the epidemic curve) are written as plain
figure dictionaries: building and validating plotly's objects took most of the overview's time.
The unit tests check that plotly's validation gives each of them back unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from xietong.areas.reference import chongqing, district_shapes

FONT = "WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, Noto Sans CJK SC, sans-serif"
# Colours that stay apart for the colour-blind (Okabe–Ito) for the two halves of every count.
UNDER_CONTROL = "#0072B2"
SURFACE = "#D55E00"
NEUTRAL = "#999999"
NOWCAST = "#009E73"
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MAP_SCALE = [[0.0, "#fff7ec"], [0.3, "#fdbb84"], [0.7, "#e34a33"], [1.0, "#7f0000"]]


@cache
def shapes_json() -> bytes:
    """The district shapes as GeoJSON text (from `areas.reference.district_shapes`)."""
    return json.dumps(district_shapes(), ensure_ascii=False, separators=(",", ":")).encode()


@cache
def shapes_url() -> str:
    return f"/static/districts.geojson?v={hashlib.sha256(shapes_json()).hexdigest()[:10]}"


def _layout_values(*, height: int, legend: bool = True) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "font": {"family": FONT, "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "showlegend": legend,
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }


def _layout(fig: go.Figure, *, height: int, legend: bool = True) -> None:
    fig.update_layout(**_layout_values(height=height, legend=legend))


@cache
def _template() -> dict[str, Any]:
    """plotly's default template as plain data, which every figure of `go.Figure` carries."""
    template: dict[str, Any] = json.loads(go.Figure().to_json())["layout"]["template"]
    return template


def _figure_json(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    """The JSON text of a figure given as plain data, in the form `go.Figure.to_json` gives."""
    figure = {"data": data, "layout": {"template": _template(), **layout}}
    return str(pio.to_json(figure, validate=False))


@cache
def _city_frame() -> tuple[tuple[str, ...], dict[str, tuple[float, float]], dict[str, float]]:
    """Codes with a shape, the centroids of those without, and the map's centre."""
    city = chongqing()
    shaped = tuple(f["id"] for f in district_shapes()["features"])
    unshaped = {d.code: d.centroid for d in city.districts if d.geometry is None}
    lons = [d.centroid[0] for d in city.districts]
    lats = [d.centroid[1] for d in city.districts]
    centre = {"lon": (min(lons) + max(lons)) / 2, "lat": (min(lats) + max(lats)) / 2}
    return shaped, unshaped, centre


def district_map(
    values: Mapping[str, float],
    *,
    names: Mapping[str, str],
    label: str,
    height: int = 420,
    highlight: str | None = None,
) -> str:
    """Districts coloured by `values` (code → number); `highlight` outlines one district."""
    shaped, unshaped, centre = _city_frame()
    top = max([*values.values(), 1.0])
    data: list[dict[str, Any]] = [
        {
            "type": "choroplethmap",
            "geojson": shapes_url(),
            "featureidkey": "id",
            "locations": list(shaped),
            "z": [values.get(code, 0) for code in shaped],
            "zmin": 0,
            "zmax": top,
            "colorscale": MAP_SCALE,
            "marker": {"line": {"width": 0.6, "color": "#555555"}, "opacity": 0.9},
            "text": [names.get(code, code) for code in shaped],
            "hovertemplate": "%{text}<br>" + label + ": %{z}<extra></extra>",
            "colorbar": {"thickness": 10, "len": 0.6, "x": 0.98},
            "name": label,
        }
    ]
    if unshaped:
        codes = sorted(unshaped)
        data.append(
            {
                "type": "scattermap",
                "lon": [unshaped[c][0] for c in codes],
                "lat": [unshaped[c][1] for c in codes],
                "mode": "markers",
                "marker": {
                    "size": 14,
                    "color": [values.get(c, 0) for c in codes],
                    "cmin": 0,
                    "cmax": top,
                    "colorscale": MAP_SCALE,
                },
                "text": [f"{names.get(c, c)}: {values.get(c, 0):g}" for c in codes],
                "hovertemplate": "%{text}<extra></extra>",
                "showlegend": False,
            }
        )
    if highlight is not None and highlight in shaped:
        data.append(
            {
                "type": "choroplethmap",
                "geojson": shapes_url(),
                "featureidkey": "id",
                "locations": [highlight],
                "z": [0],
                "colorscale": [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                "showscale": False,
                "marker": {"line": {"width": 3, "color": "#000000"}},
                "hoverinfo": "skip",
            }
        )
    layout = {
        "map": {"style": "white-bg", "center": centre, "zoom": 5.6},
        **_layout_values(height=height, legend=False),
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
    }
    return _figure_json(data, layout)


def epidemic_curve(
    days: Sequence[date],
    *,
    under_control: Sequence[int | None],
    surface: Sequence[int | None],
    under_control_label: str,
    surface_label: str,
    height: int = 300,
    nowcast: NowcastLine | None = None,
) -> str:
    """New infections by day, stacked: found under control below, found on the surface above;
    with a `nowcast`, the infections by the day first sampled as a line, its band shaded over
    the last days that are still being reported.

    None is a day not reported: a gap, never a zero."""
    x = [d.isoformat() for d in days]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": x,
            "y": list(under_control),
            "name": under_control_label,
            "marker": {"color": UNDER_CONTROL},
        },
        {
            "type": "bar",
            "x": list(x),
            "y": list(surface),
            "name": surface_label,
            "marker": {"color": SURFACE},
        },
    ]
    if nowcast is not None:
        data += _nowcast_traces(x, nowcast)
    layout = {
        "barmode": "stack",
        "bargap": 0.15,
        "xaxis": {"type": "date", "tickformat": "%m-%d"},
        **_layout_values(height=height),
    }
    return _figure_json(data, layout)


@dataclass(frozen=True)
class NowcastLine:
    """Infections by the day first sampled: the nowcast and its band, per day of the curve."""

    expected: Sequence[float | None]
    lower: Sequence[float | None]
    upper: Sequence[float | None]
    label: str
    band_label: str


def _nowcast_traces(x: list[str], nowcast: NowcastLine) -> list[dict[str, Any]]:
    # The band only where it is open: complete days have nothing left to estimate.
    late = [
        k
        for k, (low, high) in enumerate(zip(nowcast.lower, nowcast.upper, strict=True))
        if low is not None and high is not None and high > low
    ]
    traces: list[dict[str, Any]] = []
    if late:
        days = x[late[0] :]
        high = list(nowcast.upper[late[0] :])
        low = list(nowcast.lower[late[0] :])
        traces.append(
            {
                "type": "scatter",
                "x": days + days[::-1],
                "y": high + low[::-1],
                "fill": "toself",
                "fillcolor": _transparent(NOWCAST, 0.2),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "name": nowcast.band_label,
            }
        )
    traces.append(
        {
            "type": "scatter",
            "x": list(x),
            "y": list(nowcast.expected),
            "mode": "lines",
            "name": nowcast.label,
            "line": {"color": NOWCAST, "width": 2},
        }
    )
    return traces


def band_chart(
    *,
    observed_days: Sequence[date],
    observed: Sequence[float | None],
    series: Sequence[dict[str, Any]],
    observed_label: str,
    height: int = 340,
) -> str:
    """Observed counts as bars and projections as median lines with shaded bands.

    Each series: ``{"name", "days", "median", "colour", "bands": [(low, high), ...]}``, bands
    from the widest to the narrowest (e.g. 90 % then 50 %).
    """
    fig = go.Figure()
    if observed_days:
        fig.add_trace(
            go.Bar(
                x=[d.isoformat() for d in observed_days],
                y=list(observed),
                name=observed_label,
                marker_color=NEUTRAL,
            )
        )
    for s in series:
        x = [d.isoformat() for d in s["days"]]
        for k, (low, high) in enumerate(s.get("bands", ())):
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=list(high) + list(low)[::-1],
                    fill="toself",
                    fillcolor=_transparent(s["colour"], 0.12 + 0.12 * k),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name=s["name"],
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x, y=list(s["median"]), mode="lines", name=s["name"], line={"color": s["colour"]}
            )
        )
    fig.update_xaxes(type="date", tickformat="%m-%d")
    _layout(fig, height=height)
    return str(fig.to_json())


def _transparent(colour: str, alpha: float = 0.2) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


@dataclass(frozen=True)
class ChartTable:
    """A figure's numbers as rows, for the table behind each chart's toggle (screen readers, and
    anyone who wants the figures rather than the picture). `by` says what the first column is:
    "district" (a map, or bars by district) or "day"."""

    by: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]


def _values(raw: Any) -> list[Any]:
    """A trace's array: plotly writes numbers as base64 typed arrays (`bdata`) or as lists."""
    if isinstance(raw, dict) and "bdata" in raw:
        return list(np.frombuffer(base64.b64decode(raw["bdata"]), dtype=raw["dtype"]).tolist())
    return list(raw or [])


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def chart_table(fig_json: str) -> ChartTable:
    """The numbers a figure draws: each district's value of a map, or each x's value per
    series of a curve or bar chart. Bands and outlines drawn only for the eye are left out."""
    data = json.loads(fig_json).get("data", [])
    map_rows: list[tuple[str, list[str]]] = []
    columns: list[str] = []
    series: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for trace in data:
        if trace.get("hoverinfo") == "skip" or trace.get("fill"):
            continue
        if "locations" in trace:
            columns = [str(trace.get("name", ""))]
            names = _values(trace.get("text"))
            for name, z in zip(names, _values(trace.get("z")), strict=False):
                map_rows.append((str(name), [_cell(z)]))
        elif trace.get("type") == "scattermap":
            for text, colour in zip(
                _values(trace.get("text")),
                _values(trace.get("marker", {}).get("color")),
                strict=False,
            ):
                map_rows.append((str(text).rsplit(": ", 1)[0], [_cell(colour)]))
        elif "x" in trace and "y" in trace:
            name = str(trace.get("name", ""))
            column = series.setdefault(name, {})
            for x, y in zip(_values(trace["x"]), _values(trace["y"]), strict=False):
                key = str(x)[:10]
                if key not in order:
                    order.append(key)
                column[key] = _cell(y)
    if map_rows:
        return ChartTable("district", columns, sorted(map_rows, key=lambda r: r[0]))
    is_day = bool(order) and all(len(k) == 10 and k[4] == "-" and k[7] == "-" for k in order)
    names = list(series)
    rows = [(key, [series[n].get(key, "—") for n in names]) for key in order]
    return ChartTable("day" if is_day else "district", names, rows)
