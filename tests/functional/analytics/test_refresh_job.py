"""The refresh job: one unit of work per run, committed; the periodic loop stops on request and
outlives a failed run when told to report it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from xietong.analytics import service, tasks
from xietong.analytics.models import DailyAggregate
from xietong.analytics.schemas import RefreshReport
from xietong.bootstrap import prepare_database
from xietong.core.clock import FixedClock
from xietong.core.wallclock import SystemClock
from xietong.storage.engine import build_engine, session_factory

NOON = datetime(2022, 11, 14, 4, tzinfo=UTC)


def test_a_run_commits_its_cells_and_watermark(fresh_url: str) -> None:
    engine = build_engine(fresh_url)
    prepare_database(engine)
    factory = session_factory(engine)
    try:
        report = tasks.run_refresh(factory, clock=FixedClock(NOON))

        with factory() as session:
            assert service.last_watermark(session) == NOON
            stored = session.scalar(select(func.count()).select_from(DailyAggregate))
        assert stored == report.cells_refreshed > 0
    finally:
        engine.dispose()


def test_the_loop_refreshes_until_stopped_and_reports_failures(fresh_url: str) -> None:
    engine = build_engine(fresh_url)
    prepare_database(engine)
    clock = FixedClock(NOON)
    stop = threading.Event()
    reports: list[RefreshReport] = []
    failures: list[Exception] = []

    def on_report(report: RefreshReport) -> None:
        reports.append(report)
        clock.advance(timedelta(minutes=5))
        if len(reports) == 2:
            stop.set()

    try:
        runs = tasks.refresh_periodically(
            session_factory(engine),
            every=timedelta(milliseconds=1),
            stop=stop,
            clock=clock,
            on_report=on_report,
            on_error=failures.append,
        )
    finally:
        engine.dispose()

    assert runs == 2 and failures == []
    assert reports[1].since == NOON - service.SAFETY_MARGIN


def test_without_an_error_handler_a_failed_run_ends_the_loop() -> None:
    # A database without the schema: the first run fails.
    broken = session_factory(build_engine("sqlite://"))
    with pytest.raises(Exception, match=r"no such table"):
        tasks.refresh_periodically(
            broken, every=timedelta(seconds=1), stop=threading.Event(), clock=FixedClock(NOON)
        )


def test_the_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every"):
        tasks.refresh_periodically(
            session_factory(build_engine("sqlite://")),
            every=timedelta(0),
            stop=threading.Event(),
            clock=SystemClock(),
        )
