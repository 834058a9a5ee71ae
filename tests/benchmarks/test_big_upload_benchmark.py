"""The big-upload benchmark keeps working (a real server, files of a fraction of a megabyte)."""

from __future__ import annotations

import pytest

from benchmarks import big_upload


@pytest.mark.slow
def test_the_upload_benchmark_runs_at_tiny_size() -> None:
    figures = big_upload.main(["--mb", "0.3", "--bad-mb", "0.3"])
    assert figures["valid"]["status"] == 200
    assert figures["valid"]["results"]["rows_read"] == figures["valid"]["rows"]
    assert figures["bad"]["status"] == 422
    assert figures["bad"]["errors_listed"] == 1_000
    assert figures["valid"]["peak_rss_mib"] > 0
