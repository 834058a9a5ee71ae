"""The locust load test keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import lab_load


@pytest.mark.slow
def test_the_load_test_runs_at_tiny_size_on_each_backend() -> None:
    figures = lab_load.main(
        [
            *("--rate", "200", "--sqlite-rate", "200", "--seconds", "2", "--pace", "2"),
            *("--coordinators", "2", "--batch", "50", "--warmup", "2"),
        ]
    )
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    for backend in backends:
        f = figures[backend]
        assert f["received"] == f["positives"] == 4
        assert f["locust"]["POST results (50)"]["requests"] > 0
        assert f["locust"]["POST results (50)"]["failures"] == 0
