"""The referral latency benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import referral_latency


@pytest.mark.slow
def test_every_referral_reaches_the_receiving_stream_while_the_load_runs() -> None:
    figures = referral_latency.main(["--referrals", "5", "--load-rate", "200"])
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    assert sorted(figures) == sorted(backends)
    for backend in backends:
        assert figures[backend]["received"] == 5
        assert figures[backend]["unexpected_events"] == 0
        assert figures[backend]["load"]["applied"] > 0
        assert figures[backend]["load"]["failed_batches"] == 0


@pytest.mark.slow
def test_the_load_can_run_through_the_intake_flow_in_its_own_process() -> None:
    figures = referral_latency.main(
        ["--referrals", "3", "--load-rate", "100", "--load-via", "intake", "--postgres-url", ""]
    )
    assert figures["sqlite"]["received"] == 3
    assert figures["sqlite"]["load"]["applied"] > 0
