"""Engine factory: SQLite (WAL, foreign keys) as the embedded default, PostgreSQL via psycopg 3."""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while laboratories write; NORMAL is durable in WAL mode except
    # for the last transactions on power loss, never corrupting.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


# Execution option (`engine.execution_options(**{READ_ONLY: True})`) of work that only reads.
READ_ONLY = "xietong_read_only"


# Connections kept to a SQLite file (as many again may open under a burst): above the server's
# worker threads (AnyIO's 40) and background workers, each of which may hold one at a time.
SQLITE_POOL_SIZE = 64

# How long a writer waits for its turn, as SQLite's own busy_timeout (milliseconds there).
WRITER_WAIT_SECONDS = 30.0


class WriterQueue:
    """The writers of one SQLite database in this process, served in the order they asked.

    SQLite's busy handler retries a locked database after growing sleeps, so under load a writer
    that asked first may wait while later ones get in (p99 of a positive's hand-off near 2.3 s,
    the longest near 6 s). A ticket per writer, taken before `BEGIN IMMEDIATE` and given back at
    commit or rollback, serves them first come, first served.
    """

    def __init__(self, *, wait_seconds: float = WRITER_WAIT_SECONDS) -> None:
        self._condition = threading.Condition()
        self._next = 0
        self._serving = 0
        self._abandoned: set[int] = set()
        self._wait_seconds = wait_seconds

    @property
    def waiting(self) -> int:
        """Writers holding a ticket, the one being served included."""
        with self._condition:
            return self._next - self._serving - len(self._abandoned)

    def wait_for_waiting(self, count: int) -> None:
        """Block until `count` writers hold tickets (for callers that must know the order)."""
        with self._condition:
            self._condition.wait_for(lambda: self._next - self._serving >= count)

    def acquire(self) -> None:
        with self._condition:
            ticket = self._next
            self._next += 1
            self._condition.notify_all()
            if self._condition.wait_for(lambda: self._serving == ticket, self._wait_seconds):
                return
            self._abandoned.add(ticket)
        raise OperationalError(
            "BEGIN IMMEDIATE",
            None,
            Exception(f"database is locked: no turn to write within {self._wait_seconds:.0f} s"),
        )

    def release(self) -> None:
        with self._condition:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.remove(self._serving)
                self._serving += 1
            self._condition.notify_all()


_WRITERS: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()
_HOLDS_TURN = "xietong_holds_writer_turn"


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The writer queue of a SQLite engine (None on PostgreSQL, whose writers don't queue)."""
    return _WRITERS.get(engine)


def _serve_writers_in_order(engine: Engine) -> None:
    queue = _WRITERS[engine] = WriterQueue()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take control of
        # it. IMMEDIATE takes the write lock up front: a transaction that reads and then writes
        # would otherwise fail with "database is locked" when another writer committed in
        # between, instead of waiting for its turn. Work that only reads reads a WAL snapshot
        # and never waits for the writers.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        queue.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            queue.release()
            raise
        conn.connection.info[_HOLDS_TURN] = True

    def _give_back(info: dict[str, Any]) -> None:
        if info.pop(_HOLDS_TURN, False):
            queue.release()

    # The turn is given back after the COMMIT or ROLLBACK itself (done here; the driver's own
    # call that follows finds no transaction), so the next writer never meets the lock.
    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        try:
            conn.connection.dbapi_connection.commit()
        finally:
            _give_back(conn.connection.info)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        try:
            conn.connection.dbapi_connection.rollback()
        finally:
            _give_back(conn.connection.info)

    # A connection returned or discarded without either (its process's work crashed) gives it too.
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        _give_back(record.info)

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi: Any, record: Any, _exc: Any) -> None:
        _give_back(record.info)


def build_engine(
    url: str, *, echo: bool = False, connect_args: dict[str, Any] | None = None
) -> Engine:
    """Create the engine for `url`, creating the SQLite file's folder when needed."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        pooled: dict[str, Any] = {}
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # Every thread that may hold a connection gets one: a writer waiting for its turn
            # holds its connection, and the writer being served may need a second one (a read
            # session beside its own), so a pool smaller than the threads deadlocks under load.
            # (A database in memory lives in one connection per thread, and has no such pool.)
            pooled = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pooled,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        _serve_writers_in_order(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args or {},
    )


def read_only(engine: Engine, *, replica: bool = False) -> Engine:
    """The engine of reads: SQLite without the writer's ticket, PostgreSQL refusing writes (a
    replica refuses them by itself, and refuses to be told so)."""
    if replica:
        return engine.execution_options(**{READ_ONLY: True})
    return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
