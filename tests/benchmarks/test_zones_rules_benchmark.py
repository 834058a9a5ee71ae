"""The zones benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import zones_rules


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = zones_rules.main(["--buildings", "300", "--days", "12"])
    sqlite = figures["sqlite"]
    assert sqlite["areas_evaluated"] == sqlite["buildings"] >= 300
    assert 0 < sqlite["liftings_proposed"] < sqlite["areas_evaluated"]
    # Once the day's proposals are committed, evaluating it again proposes nothing.
    assert sqlite["quiet_liftings_proposed"] == 0
    assert (
        sqlite["quiet_areas_evaluated"] == sqlite["areas_evaluated"] - sqlite["liftings_proposed"]
    )
    if os.environ.get("XIETONG_TEST_DATABASE_URL"):
        postgresql = figures["postgresql"]
        assert postgresql["areas_evaluated"] == postgresql["buildings"]
        # The same seeded history gives the same proposals on both backends.
        assert postgresql["liftings_proposed"] == sqlite["liftings_proposed"]
