"""The twin benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import twin_build


@pytest.mark.slow
def test_the_twin_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    urls = [None] + (
        [os.environ["XIETONG_TEST_DATABASE_URL"]]
        if os.environ.get("XIETONG_TEST_DATABASE_URL")
        else []
    )
    for url in urls:
        figures = twin_build.main(
            ["--population", "1500", "--days", "2", *(["--postgres-url", url] if url else [])]
        )
        assert figures["steps_run"] == 2 + 2 * 4
        assert set(figures["stages"]) >= {
            "database",
            "city",
            "outbreak",
            "setup",
            "morning",
            "close",
        }
        assert figures["rows"]["screening_tube"] > 0
        assert figures["tracing"]["statements"] > 0
        assert figures["peak_mib"] > 0
