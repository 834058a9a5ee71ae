"""The API fuzzing run keeps working (at one request per operation and caller)."""

from __future__ import annotations

import os

import pytest

from benchmarks import api_fuzz


@pytest.mark.slow
def test_the_fuzzing_run_covers_every_operation_at_tiny_size() -> None:
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    argv = ["--examples", "1"] + [a for b in backends for a in ("--backend", b)]
    figures = api_fuzz.main(argv)
    for backend in backends:
        assert figures[backend]["operations"] > 100
        assert figures[backend]["cases"] >= 2 * figures[backend]["operations"]
        assert figures[backend]["server_errors"] == 0, figures[backend]["findings"]
