"""`xietong reports` (also `xietong report`): the daily bulletin in the official form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal, cast

import typer
from rich.markup import escape

from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.reports import service

app = typer.Typer(help="The daily bulletin (疫情通报).", no_args_is_help=True)

Lang = Literal["zh-Hans", "zh-Hant", "en"]
Source = Literal["auto", "official", "aggregates"]


@app.command("bulletin")
def bulletin(
    day: Annotated[
        str | None,
        typer.Option("--date", help="Local day (YYYY-MM-DD); yesterday by default."),
    ] = None,
    lang: Annotated[str, typer.Option(help="zh-Hans (default), zh-Hant or en.")] = "zh-Hans",
    until: Annotated[
        str | None,
        typer.Option(help="End of a partial day, e.g. 18:00; the whole day if left out."),
    ] = None,
    source: Annotated[
        str, typer.Option(help="auto (official counts when imported), official, aggregates.")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Figures and text as JSON.")] = False,
) -> None:
    """Print the bulletin of a day (or of 0h to --until) in the official form."""
    tz = context.settings().timezone
    try:
        when = date.fromisoformat(day) if day else local_day(context.now(), tz) - timedelta(days=1)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a day like 2022-11-14") from None
    if lang not in ("zh-Hans", "zh-Hant", "en"):
        raise typer.BadParameter(f"lang must be zh-Hans, zh-Hant or en, not {lang!r}")
    if source not in ("auto", "official", "aggregates"):
        raise typer.BadParameter(f"source must be auto, official or aggregates, not {source!r}")
    try:
        with context.work() as session:
            result = service.bulletin(
                session,
                day=when,
                lang=cast(Lang, lang),
                until_minute=service.parse_until(until),
                source=cast(Source, source),
                tz=tz,
            )
    except DomainError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        # Plain print: the text is published as it is, with no markup interpreted.
        console.print(result.text, markup=False, highlight=False, soft_wrap=True)


def _register_singular_alias() -> None:
    """Make `xietong report bulletin` (the issue's wording) run the same commands.

    The command line adds one group per domain, named after it (`reports`); the singular is
    added beside it as a hidden alias when this group is first loaded.
    """
    from xietong.cli import main

    if not any(group.name == "report" for group in main.app.registered_groups):
        main.app.add_typer(app, name="report", hidden=True)


_register_singular_alias()
