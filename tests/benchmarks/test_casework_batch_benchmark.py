"""The batched casework benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import casework_batch


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = casework_batch.main(
        [
            *("--cases", "40", "--single-cases", "10", "--batch", "25"),
            *("--line-list-cases", "20", "--single-line-list-cases", "5"),
        ]
    )
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    assert sorted(figures) == sorted(backends)
    for backend in backends:
        measured = figures[backend]
        sizes = measured["sizes"]
        # Every path registered every case and, for each, its three contacts.
        assert sizes["cases"] == 75 and sizes["contacts"] == 225
        assert 0 < sizes["orders_with_bed"] <= sizes["orders"] <= sizes["contacts"]
        assert sizes["referral_needs"] > 0
        assert measured["single_cases_per_second"] > 0 and measured["batch_cases_per_second"] > 0
        # A case and its three contacts are four rows of the two line lists.
        assert (measured["line_list_rows"], measured["by_row_rows"]) == (80, 20)
        assert measured["line_list_rows_per_second"] > 0 and measured["by_row_rows_per_second"] > 0
