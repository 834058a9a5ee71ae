"""The referral latency benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import pytest

from benchmarks import referral_latency


@pytest.mark.slow
def test_the_latency_benchmark_runs_at_tiny_size() -> None:
    figures = referral_latency.main(["--referrals", "5"])
    assert figures["sqlite"]["received"] == 5
