"""What every command needs: settings, engine, the process's one clock and a unit of work, built
on demand; and the two helpers every group shares (`fail`, `principal`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.config import Settings, get_settings
from xietong.core.clock import Clock, FixedClock, local_day
from xietong.core.errors import DomainError, NotFound, ValidationFailed
from xietong.core.principal import SYSTEM, Principal
from xietong.core.wallclock import SystemClock
from xietong.storage.engine import build_engine, session_factory
from xietong.storage.unit_of_work import bind_clock, clock_of, unit_of_work

console = Console()
err_console = Console(stderr=True)
# The options every bulk import shares (all or nothing unless told otherwise).
LoadValidOption = Annotated[bool, typer.Option(help="Load the valid rows even if some are bad.")]
RejectsOption = Annotated[Path | None, typer.Option(help="Write rejected rows here.")]

# Rows of a validation error printed before "… and N more".
_SHOWN_ERRORS = 200


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


@contextmanager
def work_at(at: Clock) -> Iterator[Session]:
    """A unit of work whose services read `at` (an `--as-of` run's clock), not the process's."""
    with work() as session:
        previous = clock_of(session)
        bind_clock(session, at)
        try:
            yield session
        finally:
            bind_clock(session, previous)


def today() -> date:
    """The command's local day in the deployment's time zone."""
    return local_day(now(), settings().timezone)


def day(value: str | None) -> date:
    """A day given as YYYY-MM-DD, or today when none is given."""
    if value is None or value == "":
        return today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day like 2022-11-14") from None


def fail(exc: DomainError) -> NoReturn:
    """Print a domain error (and the rows a validation names, up to 200) and exit with status 2."""
    err_console.print(f"[red]error[/red] ({exc.code}): {escape(exc.message)}", soft_wrap=True)
    if isinstance(exc, ValidationFailed):
        for error in exc.errors[:_SHOWN_ERRORS]:
            err_console.print(f"  {escape(str(error))}", soft_wrap=True)
        total = exc.total or len(exc.errors)
        if total > _SHOWN_ERRORS:
            err_console.print(f"  … and {total - _SHOWN_ERRORS} more")
    raise typer.Exit(code=2)


def principal(session: Session, username: str | None) -> Principal:
    """The principal a command acts as: `--user`'s (an active user), or the system."""
    if username is None:
        return SYSTEM
    user = auth_service.get_user(session, username=username)
    if user is None or not user.active:
        raise NotFound(f"no active user {username!r}", code="user_not_found")
    return auth_service.principal_of(user)


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Run as if it were this instant (YYYY-MM-DDTHH:MM, local time unless an offset is "
        "given), to try rules that need days to pass; refused in production.",
    ),
]


def as_of(value: str | None) -> Clock:
    """The clock a command runs on: the process's, or one stopped at the `--as-of` instant
    (outside production), which its unit of work then carries to every service it calls."""
    if value is None:
        return clock()
    current = settings()
    if current.environment == "production":
        raise typer.BadParameter(
            "--as-of is refused in production: it would stamp decisions with a made-up time",
            param_hint="--as-of",
        )
    try:
        given = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an instant like 2022-11-19T09:00", param_hint="--as-of"
        ) from None
    if given.tzinfo is None:
        given = given.replace(tzinfo=ZoneInfo(current.timezone))
    return FixedClock(given.astimezone(UTC))
