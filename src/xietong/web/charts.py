"""Plotly figures of the dashboard, built in Python and sent to the page as JSON. Each function
takes plain numbers and returns the figure's JSON text. (The maps are SVG, in `wallmap`.)

The chart every overview draws (the epidemic curve) is written as a plain figure dictionary:
building and validating plotly's objects took most of the overview's time. The unit tests check
that plotly's validation gives it back unchanged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

FONT = "WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, Noto Sans CJK SC, sans-serif"
# Colours that stay apart for the colour-blind (Okabe–Ito) for the two halves of every count.
UNDER_CONTROL = "#0072B2"
SURFACE = "#D55E00"
NEUTRAL = "#999999"
NOWCAST = "#009E73"
EXPECTED = "#CC79A7"
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


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


def epidemic_curve(
    days: Sequence[date],
    *,
    under_control: Sequence[int | None],
    surface: Sequence[int | None],
    under_control_label: str,
    surface_label: str,
    height: int = 300,
    nowcast: NowcastLine | None = None,
    expected: ExpectedBand | None = None,
) -> str:
    """New infections by day, stacked: found under control below, found on the surface above;
    with a `nowcast`, the infections by the day first sampled as a line, its band shaded over
    the last days that are still being reported; with `expected`, the forecast of the days
    after, its median dashed over its 90 % and 50 % bands.

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
    if expected is not None:
        data += _expected_traces(expected)
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


@dataclass(frozen=True)
class ExpectedBand:
    """A forecast per day ahead: its median and the bounds of its 50 % and 90 % bands."""

    days: Sequence[date]
    p05: Sequence[float]
    p25: Sequence[float]
    median: Sequence[float]
    p75: Sequence[float]
    p95: Sequence[float]
    label: str
    band_labels: tuple[str, str]  # the 90 % band's, the 50 % band's


def _expected_traces(expected: ExpectedBand) -> list[dict[str, Any]]:
    x = [d.isoformat() for d in expected.days]
    bands = ((expected.p05, expected.p95, 0.15), (expected.p25, expected.p75, 0.3))
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": x + x[::-1],
            "y": list(high) + list(low)[::-1],
            "fill": "toself",
            "fillcolor": _transparent(EXPECTED, alpha),
            "line": {"width": 0},
            "hoverinfo": "skip",
            "name": name,
        }
        for (low, high, alpha), name in zip(bands, expected.band_labels, strict=True)
    ]
    traces.append(
        {
            "type": "scatter",
            "x": x,
            "y": list(expected.median),
            "mode": "lines",
            "name": expected.label,
            "line": {"color": EXPECTED, "width": 2, "dash": "dash"},
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
