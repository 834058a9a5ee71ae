"""The overview's figures, written as plain data, are figures plotly accepts as they are: its
validation gives each one back unchanged, with the default template every plotly figure has."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import plotly.io as pio

from xietong.web import charts


def validated(figure_json: str) -> dict[str, Any]:
    """What plotly makes of the figure: an invalid property or value raises."""
    result: dict[str, Any] = json.loads(pio.to_json(json.loads(figure_json), validate=True))
    return result


def test_the_epidemic_curve_is_a_valid_plotly_figure_as_written() -> None:
    days = [date(2022, 11, 1) + timedelta(days=k) for k in range(28)]
    written = charts.epidemic_curve(
        days,
        under_control=list(range(28)),
        surface=[k % 5 for k in range(28)],
        under_control_label="管控",
        surface_label="社会面",
        height=400,
    )
    figure = json.loads(written)
    assert validated(written) == figure
    assert [t["type"] for t in figure["data"]] == ["bar", "bar"]
    assert figure["data"][1]["y"] == [k % 5 for k in range(28)]
    assert figure["layout"]["barmode"] == "stack"


def _month_curve(
    *,
    nowcast: charts.NowcastLine | None = None,
    expected: charts.ExpectedBand | None = None,
) -> str:
    """The curve of 1-28 November 2022, all under control, with what the test draws over it."""
    return charts.epidemic_curve(
        [date(2022, 11, 1) + timedelta(days=k) for k in range(28)],
        under_control=list(range(28)),
        surface=[0] * 28,
        under_control_label="管控",
        surface_label="社会面",
        nowcast=nowcast,
        expected=expected,
    )


def test_the_epidemic_curve_with_a_nowcast_is_valid_and_bands_only_the_open_days() -> None:
    expected = [float(k) for k in range(28)]
    lower = [float(k) for k in range(25)] + [24.0, 25.0, 26.0]
    upper = [float(k) for k in range(25)] + [29.0, 33.0, 40.0]
    written = _month_curve(
        nowcast=charts.NowcastLine(
            expected=expected, lower=lower, upper=upper, label="按采样日", band_label="区间"
        ),
    )
    figure = json.loads(written)
    assert validated(written) == figure
    band, line = figure["data"][2:]
    assert band["x"][:3] == ["2022-11-26", "2022-11-27", "2022-11-28"]
    assert band["y"] == [29.0, 33.0, 40.0, 26.0, 25.0, 24.0]
    assert line["y"] == expected


def test_the_epidemic_curve_with_the_expected_band_is_valid_and_drawn_after_the_days() -> None:
    ahead = [date(2022, 11, 29) + timedelta(days=k) for k in range(3)]
    written = _month_curve(
        expected=charts.ExpectedBand(
            days=ahead,
            p05=[1.0, 2.0, 3.0],
            p25=[2.0, 3.0, 4.0],
            median=[3.0, 4.0, 5.0],
            p75=[4.0, 5.0, 6.0],
            p95=[5.0, 6.0, 7.0],
            label="预期",
            band_labels=("90%", "50%"),
        ),
    )
    figure = json.loads(written)
    assert validated(written) == figure
    wide, narrow, median = figure["data"][2:]
    assert wide["y"] == [5.0, 6.0, 7.0, 3.0, 2.0, 1.0]
    assert narrow["y"] == [4.0, 5.0, 6.0, 4.0, 3.0, 2.0]
    assert median["x"] == ["2022-11-29", "2022-11-30", "2022-12-01"]
    assert median["y"] == [3.0, 4.0, 5.0]
    # The table behind the chart lists the median, not the band's outline.
    assert "预期" in charts.chart_table(written).columns
    assert "90%" not in charts.chart_table(written).columns
