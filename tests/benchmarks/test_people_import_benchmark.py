"""The people-import benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import people_import


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = people_import.main(["--persons", "300", "--again"])
    assert figures["sqlite"]["first"]["inserted"] == 300
    assert figures["sqlite"]["again"]["inserted"] == 0
    assert figures["sqlite"]["ours_over_raw"] > 0
    if os.environ.get("XIETONG_TEST_DATABASE_URL"):
        assert figures["postgresql"]["first"]["inserted"] == 300
        assert figures["postgresql"]["ours_over_raw"] > 0
