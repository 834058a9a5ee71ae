"""SQLite's writers in one process are served in the order they asked, and a turn is always
given back (commit, rollback, or a connection dropped mid-transaction); writers lined up never
leave the one being served without a connection for its reads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from xietong.storage.engine import READ_ONLY, WriterQueue, build_engine, writer_queue


def test_waiting_writers_commit_in_the_order_they_asked(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    queue = writer_queue(engine)
    assert queue is not None
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE arrival (seq INTEGER PRIMARY KEY, writer INTEGER)"))

    def write(writer: int) -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO arrival (writer) VALUES (:w)"), {"w": writer})

    threads = []
    with engine.begin() as holder:  # the first writer holds the turn while the others line up
        holder.execute(text("INSERT INTO arrival (writer) VALUES (-1)"))
        for writer in range(8):
            thread = threading.Thread(target=write, args=(writer,))
            thread.start()
            threads.append(thread)
            queue.wait_for_waiting(writer + 2)
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        order = connection.execute(text("SELECT writer FROM arrival ORDER BY seq")).scalars()
        assert list(order) == [-1, *range(8)]
    assert queue.waiting == 0
    engine.dispose()


def test_a_failed_or_dropped_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    queue = writer_queue(engine)
    assert queue is not None
    with pytest.raises(OperationalError), engine.begin() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert queue.waiting == 0
    connection = engine.connect()
    connection.begin()
    connection.invalidate()
    assert queue.waiting == 0
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    assert queue.waiting == 0
    engine.dispose()


def test_a_writer_gives_up_after_its_wait_and_the_line_moves_on() -> None:
    queue = WriterQueue(wait_seconds=0.0)
    queue.acquire()
    with pytest.raises(OperationalError, match="database is locked"):
        queue.acquire()
    queue.release()
    queue.acquire()  # the abandoned ticket is skipped: the next writer is served at once
    queue.release()
    assert queue.waiting == 0


def test_the_writer_served_still_reads_while_many_writers_wait_holding_connections(
    tmp_path: Path,
) -> None:
    # A server's request holds the turn (its session authenticated the caller) and then opens a
    # read session; meanwhile more requests than a small pool holds have each taken a connection
    # and wait for the turn. With fifteen connections in all, that read waited for a connection
    # none of them would give back, and every request failed after 30 s.
    engine = build_engine(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    queue = writer_queue(engine)
    assert queue is not None
    waiting = 24

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))

    threads = [threading.Thread(target=write) for _ in range(waiting)]
    with engine.begin() as holder:
        holder.execute(text("CREATE TABLE t (x INTEGER)"))
        for thread in threads:
            thread.start()
        queue.wait_for_waiting(waiting + 1)
        with engine.execution_options(**{READ_ONLY: True}).connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
    for thread in threads:
        thread.join()
    assert queue.waiting == 0
    engine.dispose()
