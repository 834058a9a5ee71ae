"""The mutual-aid benchmark keeps working (run at a tiny size; its timing is not checked)."""

from __future__ import annotations

import pytest

from benchmarks import mutual_aid_plan


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_and_reports_its_figures() -> None:
    figures = mutual_aid_plan.main(["--districts", "4", "--days", "2", "--repeats", "1"])
    assert figures["variables"] > 0
    assert figures["constraints"] == 2 * 4 * 3 * 2
    assert 0 <= figures["total_unmet"] <= figures["unmet_if_kept_at_home"]
