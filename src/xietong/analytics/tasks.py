"""The refresh job: keeps the daily aggregates current, each run in its own transaction, and
computes the results the pages read from them (`analytics.page_results`).

Run it every few minutes while data arrives (`xietong analytics refresh --every 300`) and once a
night with `full=True`, which also recounts facts of transactions longer than the safety margin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from xietong.analytics.page_results import keep_page_results
from xietong.analytics.schemas import RefreshReport
from xietong.analytics.service import refresh_aggregates
from xietong.core.clock import DEFAULT_TZ, Clock
from xietong.storage.unit_of_work import unit_of_work

logger = logging.getLogger(__name__)


def run_refresh(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    tz: str = DEFAULT_TZ,
    full: bool = False,
) -> RefreshReport:
    """One refresh in one unit of work: all recounted cells and the watermark, or nothing; then
    the pages' results of the series as it now stands, in a unit of work of their own."""
    with unit_of_work(factory, clock=clock) as session:
        report = refresh_aggregates(session, now=clock.now(), tz=tz, full=full)
    # Apart: the aggregates never wait for (or roll back with) seconds of forecasting, and a
    # page that finds no result computes it as before.
    computed = keep_results(factory, clock=clock, tz=tz)
    return report.model_copy(update={"results_computed": computed})


def keep_results(factory: sessionmaker[Session], *, clock: Clock, tz: str) -> list[str]:
    """The pages' results of the series as it now stands, in a unit of work of their own (one
    at a time: `keep_page_results` holds the refresh's lock); the kinds computed."""
    with unit_of_work(factory, clock=clock) as session:
        return keep_page_results(session, now=clock.now(), tz=tz)


def keep_results_after_response(factory: sessionmaker[Session], *, clock: Clock, tz: str) -> None:
    """`keep_results` once a request that changed the counts (a refresh, an import) has committed
    and answered, as its background task. A failure is logged, not raised: the change it follows
    is done and answered, and a page that finds no result computes it itself."""
    try:
        keep_results(factory, clock=clock, tz=tz)
    except Exception:
        logger.exception("the pages' results were not computed after the counts changed")


def refresh_periodically(
    factory: sessionmaker[Session],
    *,
    every: timedelta,
    stop: threading.Event,
    clock: Clock,
    tz: str = DEFAULT_TZ,
    on_report: Callable[[RefreshReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> int:
    """Refresh every `every` until `stop` is set; return how many runs succeeded.

    With `on_error`, a failed run (a lock timeout, a database restart) is reported and the loop
    goes on: the next run starts from the same watermark, so it catches up on everything the
    failed one missed. Without it, the error ends the loop.
    """
    if every <= timedelta(0):
        raise ValueError("every: must be positive")
    runs = 0
    while not stop.is_set():
        try:
            report = run_refresh(factory, clock=clock, tz=tz)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)
        else:
            runs += 1
            if on_report is not None:
                on_report(report)
        stop.wait(every.total_seconds())
    return runs
