"""The dashboard benchmark keeps working (run at a tiny size; figures are not checked)."""

from __future__ import annotations

import os

import pytest

from benchmarks import dashboard


@pytest.mark.slow
def test_the_benchmark_runs_at_tiny_size_on_each_backend() -> None:
    figures = dashboard.main(
        ["--persons", "300", "--days", "3", "--attack", "0.05", "--requests", "3"]
    )
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("XIETONG_TEST_DATABASE_URL") else [])
    assert sorted(figures) == sorted(backends)
    for backend in backends:
        measured = figures[backend]
        assert measured["sizes"]["persons"] == 300
        assert measured["sizes"]["cases"] >= 3
        # Cases linked into chains, and two close contacts of each case with their orders, all
        # written in batches.
        assert measured["sizes"]["links"] > 0
        assert measured["sizes"]["contacts"] == 2 * measured["sizes"]["cases"]
        assert 0 < measured["sizes"]["quarantine_orders"] <= measured["sizes"]["contacts"]
        # Every other day half of the persons (by home building), ten to a tube, all resulted.
        screening = measured["seeded"]["screening"]
        assert screening["share"] == 1.0
        assert measured["sizes"]["memberships"] == screening["memberships"] == 200 + 100 + 200
        assert measured["sizes"]["tubes"] == measured["sizes"]["results"] == 50
        # Every page is measured, or named as having no record to show at this size.
        assert sorted([*measured["pages"], *measured["no_record"]]) == sorted(
            p.name for p in dashboard.PAGES
        )
        # The refresh job computed the forecast page's and the overview's results, which the
        # uncached views read.
        assert {"trend", "expected", "scenarios_28"} <= set(measured["refresh_job"]["computed"])
        for page in ("overview", "overview uncached", "points and lines", "inbox", "case"):
            assert measured["pages"][page]["requests"] == 3
            assert measured["pages"][page]["median_ms"] > 0


def test_every_page_of_the_web_router_is_measured() -> None:
    assert dashboard.page_routes()
    assert dashboard.unmeasured_routes() == []


@pytest.mark.slow
def test_the_pages_measured_can_be_chosen() -> None:
    figures = dashboard.main(
        [
            *("--persons", "300", "--days", "2", "--attack", "0.05", "--requests", "1"),
            *("--pages", "points and lines,cases", "--postgres-url", ""),
        ]
    )
    assert list(figures["sqlite"]["pages"]) == ["points and lines", "cases"]


@pytest.mark.slow
def test_a_share_of_each_screening_day_can_be_loaded() -> None:
    figures = dashboard.main(
        [
            *("--persons", "2000", "--days", "2", "--attack", "0.01", "--requests", "1"),
            *("--screening-share", "0.5", "--postgres-url", ""),
        ]
    )
    screening = figures["sqlite"]["seeded"]["screening"]
    # Half of each day's buildings (spread over the city): about half of 1,000 swabs a day.
    assert 300 <= screening["memberships"] / 2 <= 700
    assert figures["sqlite"]["sizes"]["memberships"] == screening["memberships"]
