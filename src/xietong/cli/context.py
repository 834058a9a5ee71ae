"""What every command needs: settings, engine, the process's one clock and a unit of work, built
on demand; and the two helpers every group shares (`fail`, `principal`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xietong.config import Settings, get_settings
from xietong.core.clock import Clock
from xietong.core.wallclock import SystemClock
from xietong.storage.engine import build_engine, session_factory
from xietong.storage.unit_of_work import unit_of_work

console = Console()
err_console = Console(stderr=True)


@cache
def settings() -> Settings:
    return get_settings()


@cache
def engine() -> Engine:
    return build_engine(settings().database_url, echo=settings().sql_echo)


@cache
def clock() -> Clock:
    """The command's one clock: every service it calls is given this clock's time."""
    return SystemClock()


def now() -> datetime:
    return clock().now()


@contextmanager
def work() -> Iterator[Session]:
    with unit_of_work(session_factory(engine()), clock=clock()) as session:
        yield session
