"""The HL7 intake benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import hl7_intake


@pytest.mark.slow
def test_the_hl7_intake_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = hl7_intake.main(["--size", "1000", "--batch", "300"])
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    for backend in backends:
        csv, hl7 = figures[backend]["csv"], figures[backend]["hl7"]
        assert csv["report"]["applied"] == hl7["report"]["applied"] == 1000
        assert hl7["acks"] == {"AA": 1000, "AE": 0, "AR": 0}
        assert hl7["report"]["pooled_positive"] == csv["report"]["pooled_positive"] == 1
        assert hl7["report"]["holds"] == csv["report"]["holds"] == 2
        assert figures[backend]["rates"]["hl7_over_csv"] > 0
