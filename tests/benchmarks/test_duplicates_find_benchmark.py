"""The duplicates benchmark keeps working (run at a tiny size; timings are not checked, the
pairs found are: every planted duplicate, nothing else, nothing new the second time)."""

from __future__ import annotations

import os

import pytest

from benchmarks import duplicates_find


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = duplicates_find.main(["--persons", "2000", "--share", "0.05"])
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    for backend in backends:
        f = figures[backend]
        assert f["duplicates"] == 100
        assert f["first"]["proposed"] == 100
        assert f["again"]["proposed"] == 0
