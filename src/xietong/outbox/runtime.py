"""The server's background workers: the dispatcher (live streams and webhooks), the PostgreSQL
listener that wakes it, and the periodic jobs it is given (`api.jobs.periodic_jobs()`).

Started and stopped by the application's lifespan (`Settings.run_workers`) or by
`xietong outbox run`. Every loop survives a failing pass (logged, retried after a pause), so a
database restart or a bad row does not stop deliveries for the night.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.core.clock import Clock
from xietong.outbox.broadcast import Broadcaster
from xietong.outbox.dispatcher import Dispatcher
from xietong.outbox.doorbell import DOORBELL
from xietong.outbox.service import NOTIFY_CHANNEL
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import READ_ONLY, session_factory
from xietong.storage.unit_of_work import unit_of_work

logger = logging.getLogger(__name__)

# Without a ring (a message written by another process on SQLite), streams still see it this fast.
IDLE_POLL_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class PeriodicJob:
    """Scheduled work of a domain, run in its own unit of work every `every_seconds`."""

    name: str
    every_seconds: float
    run: Callable[[Session, Settings, datetime], object]


class Workers:
    """The background threads of one process."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        broadcaster: Broadcaster,
        protector: PersonalDataProtector,
        clock: Clock,
        jobs: list[PeriodicJob] | None = None,
    ) -> None:
        factory = session_factory(engine)
        read_factory = session_factory(engine.execution_options(**{READ_ONLY: True}))

        def work() -> AbstractContextManager[Session]:
            return unit_of_work(factory, clock=clock)

        def read() -> AbstractContextManager[Session]:
            return unit_of_work(read_factory, clock=clock)

        self._work = work
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self.dispatcher = Dispatcher(
            work=work, read=read, protector=protector, broadcaster=broadcaster, clock=clock
        )
        self._jobs = list(jobs or ())
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake_read, self._wake_write = os.pipe()

    @property
    def on_postgresql(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def start(self) -> None:
        if not self.on_postgresql:
            # SQLite has one server process, so a lease still held is one its dead
            # predecessor took: send those deliveries again now instead of after the lease.
            self._guarded("release leases", self.dispatcher.release_leases)
        self._guarded("start tail", self.dispatcher.start_tail)
        self._spawn("outbox-broadcast", self._broadcast_loop)
        self._spawn("outbox-deliver", self._deliver_loop)
        if self.on_postgresql:
            self._spawn("outbox-listen", self._listen_loop)
        for job in self._jobs:
            self._spawn(f"job-{job.name}", lambda job=job: self._job_loop(job))  # type: ignore[misc]

    def stop(self) -> None:
        self._stop.set()
        DOORBELL.ring()
        os.write(self._wake_write, b"x")
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.dispatcher.broadcaster.close()
        self.dispatcher.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # --- loops ----------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _guarded(self, what: str, step: Callable[[], object]) -> bool:
        try:
            step()
        except Exception:
            logger.exception("%s failed; trying again shortly", what)
            return False
        return True

    def _broadcast_loop(self) -> None:
        seen = DOORBELL.generation
        while not self._stop.is_set():
            if not self._guarded("broadcast", self.dispatcher.broadcast_new):
                self._stop.wait(ERROR_PAUSE_SECONDS)
            seen = DOORBELL.wait(seen, IDLE_POLL_SECONDS)

    def _deliver_loop(self) -> None:
        seen = DOORBELL.generation
        while not self._stop.is_set():
            timeout = IDLE_POLL_SECONDS
            try:
                due = self.dispatcher.deliver_pass()
            except Exception:
                logger.exception("webhook delivery failed; trying again shortly")
                self._stop.wait(ERROR_PAUSE_SECONDS)
                due = None
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self._clock.now()).total_seconds()))
            seen = DOORBELL.wait(seen, timeout)

    def _listen_loop(self) -> None:
        """Ring the doorbell whenever another process commits outbox messages."""
        url = make_url(self._engine.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    # Anything committed while (re)connecting is picked up by this ring.
                    DOORBELL.ring()
                    while not self._stop.is_set():
                        ready, _, _ = select.select(
                            [connection.pgconn.socket, self._wake_read], [], [], 5.0
                        )
                        if self._wake_read in ready:
                            return
                        if ready and any(True for _ in connection.notifies(timeout=0)):
                            DOORBELL.ring()
            except Exception:
                logger.exception("outbox listener lost its connection; reconnecting")
                self._stop.wait(ERROR_PAUSE_SECONDS)

    def _job_loop(self, job: PeriodicJob) -> None:
        while not self._stop.is_set():

            def run_once() -> None:
                with self._work() as session:
                    job.run(session, self._settings, self._clock.now())

            self._guarded(f"job {job.name}", run_once)
            self._stop.wait(job.every_seconds)


_BROADCASTER_LOCK = threading.Lock()


def broadcaster_of(app: FastAPI) -> Broadcaster:
    """The application's broadcaster, created on first use (streams work without workers)."""
    with _BROADCASTER_LOCK:
        broadcaster: Broadcaster | None = getattr(app.state, "outbox_broadcaster", None)
        if broadcaster is None:
            broadcaster = Broadcaster()
            app.state.outbox_broadcaster = broadcaster
        return broadcaster


def start_workers(app: FastAPI, *, jobs: list[PeriodicJob]) -> Workers:
    """Start the workers of an application built by `create_app` (its lifespan calls this)."""
    workers = Workers(
        clock=app.state.clock,
        jobs=jobs,
        engine=app.state.engine,
        settings=app.state.settings,
        broadcaster=broadcaster_of(app),
        protector=app.state.protector,
    )
    workers.start()
    return workers
