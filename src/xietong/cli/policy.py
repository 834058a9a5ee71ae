"""`xietong policy`: show the rules in force, the history, adopt a new file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.clock import local_day, utcnow
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.policy import service
from xietong.policy.loader import PolicyError, load_policy

app = typer.Typer(help="The policy file: rules in force, history, adoption.", no_args_is_help=True)


@app.command("show")
def show(
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD); today by default.")] = None,
) -> None:
    """Print the policy in force on a day as JSON."""
    when = date.fromisoformat(day) if day else local_day(utcnow(), context.settings().timezone)
    with context.work() as session:
        policy = service.policy_in_force(session, day=when)
        console.print_json(policy.model_dump_json())


@app.command("history")
def show_history() -> None:
    """List every policy version with the day it took effect."""
    with context.work() as session:
        for version in service.history(session).as_of_versions():
            console.print(f"{version.effective_from}  {version.version:<24} {version.name}")


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Policy file (TOML).")]) -> None:
    """Validate a policy file and list every problem with its line."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        err_console.print(str(exc))
        raise typer.Exit(code=2) from None
    console.print(f"{file}: valid, version {policy.version}, effective {policy.effective_from}")


@app.command("adopt")
def adopt(
    file: Annotated[Path, typer.Argument(help="Policy file (TOML).")],
    effective_from: Annotated[str | None, typer.Option(help="Override the effective date.")] = None,
) -> None:
    """Adopt a policy file from its effective date; earlier days keep their rules."""
    try:
        with context.work() as session:
            row = service.adopt_policy(
                session,
                principal=SYSTEM,
                text=file.read_text(encoding="utf-8"),
                source=str(file),
                effective_from=date.fromisoformat(effective_from) if effective_from else None,
            )
    except DomainError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(code=2) from None
    console.print(f"adopted {row.version} from {row.effective_from}")
