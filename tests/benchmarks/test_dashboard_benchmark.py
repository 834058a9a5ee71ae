"""The dashboard benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import dashboard


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = dashboard.main(
        ["--persons", "300", "--days", "3", "--attack", "0.05", "--requests", "3"]
    )
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    assert sorted(figures) == sorted(backends)
    for backend in backends:
        measured = figures[backend]
        assert measured["sizes"]["persons"] == 300
        assert measured["sizes"]["cases"] >= 3
        for page in ("overview", "overview_uncached", "overview_panels", "inbox"):
            assert measured[page]["requests"] == 3
            assert measured[page]["median_ms"] > 0
