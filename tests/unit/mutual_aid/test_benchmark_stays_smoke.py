"""The benchmark of the plan over stays keeps working (tiny size; timings not checked)."""

from __future__ import annotations

import pytest

from benchmarks import mutual_aid_stays


@pytest.mark.slow
def test_the_stays_benchmark_runs_at_tiny_size_with_its_stored_data_figure() -> None:
    figures = mutual_aid_stays.main(["--districts", "4", "--days", "2", "--repeats", "1"])
    assert figures["best_seconds"] > 0
    assert 0 <= figures["total_unmet"] <= figures["unmet_if_kept_at_home"]
    assert figures["stored_districts"] == 41 and figures["stored_seconds"] > 0
