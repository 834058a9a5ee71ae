"""The forecast-ensemble benchmark keeps working (run at a tiny size; timings not checked)."""

from __future__ import annotations

import pytest

from benchmarks import forecast_ensemble


@pytest.mark.slow
def test_the_forecast_benchmark_runs_at_tiny_size() -> None:
    figures = forecast_ensemble.main(
        ["--districts", "3", "--days", "5", "--runs", "4", "--repeats", "1", "--workers", "2"]
    )
    assert figures["districts"] == 3
    assert figures["runs"] == 4
    assert figures["best_seconds"] > 0
    assert figures["runs_per_second"] > 0
