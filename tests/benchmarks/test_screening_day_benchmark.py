"""The screening-day benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import screening_day


@pytest.mark.slow
def test_the_screening_day_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = screening_day.main(["--scale", "0.001"])
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    for backend in backends:
        ours = figures[backend]["ours"]
        assert ours["tubes_report"]["members_added"] == figures["memberships"] == 10_000
        assert ours["results_report"]["applied"] == figures["tubes"] == 1_000
        assert ours["results_report"]["pooled_positive"] == 1
        assert ours["results_report"]["resample_tasks"] == 1
        assert figures[backend]["rates"]["memberships_ratio"] > 0
