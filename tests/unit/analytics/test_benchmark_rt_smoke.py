"""The Rt benchmark runs at tiny size and reports every figure it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "rt_vs_epyestim.py"


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rt_vs_epyestim", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_rt_benchmark_runs_at_tiny_size_and_agrees_with_epyestim() -> None:
    figures = _load_benchmark().main(["--districts", "2", "--days", "30", "--repeats", "1"])

    assert set(figures) == {
        "districts",
        "days",
        "repeats",
        "windows_compared",
        "cases_total",
        "ours_posterior_seconds",
        "epyestim_posterior_seconds",
        "speedup_posterior",
        "ours_seconds",
        "epyestim_with_quantiles_seconds",
        "speedup_with_quantiles",
        "max_abs_mean_difference",
    }
    assert (figures["districts"], figures["days"]) == (2, 30)
    assert figures["windows_compared"] == 2 * (30 - 7)
    assert figures["max_abs_mean_difference"] < 1e-9
