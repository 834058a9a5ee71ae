"""What every command needs: settings, engine and a unit of work, built on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xietong.config import Settings, get_settings
from xietong.core.clock import utcnow
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


@contextmanager
def work() -> Iterator[Session]:
    with unit_of_work(session_factory(engine())) as session:
        yield session


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Run as if it were this instant (YYYY-MM-DDTHH:MM, local time unless an offset is "
        "given), to try rules that need days to pass; refused in production.",
    ),
]


def as_of(value: str | None) -> datetime:
    """The instant a command runs at: now, or the `--as-of` instant outside production."""
    if value is None:
        return utcnow()
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
    return given.astimezone(UTC)
