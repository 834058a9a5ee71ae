"""The backtest benchmark keeps working (run at a tiny size; timings not checked)."""

from __future__ import annotations

import pytest

from benchmarks import forecast_backtest


@pytest.mark.slow
def test_the_backtest_benchmark_runs_at_tiny_size() -> None:
    figures = forecast_backtest.main(
        [
            *("--origins", "3", "--districts", "2", "--runs", "20", "--no-reference"),
            *("--twin-population", "2000", "--twin-intensity", "60", "--twin-min-infections", "50"),
        ]
    )
    assert figures["origins"] == 3
    assert figures["districts"] == 2
    assert figures["seconds"] > 0
    assert figures["twin_infections"] > 0
