"""`xietong policy`: show the rules in force, the history, check and adopt a new file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.policy import service
from xietong.policy.loader import PolicyError, load_policy

app = typer.Typer(help="The policy file: rules in force, history, adoption.", no_args_is_help=True)


@app.command("show")
def show(
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD); today by default.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Show this version instead of the one in force on a day.")
    ] = None,
) -> None:
    """Print the policy in force on a day (or one version) as JSON."""
    try:
        with context.work() as session:
            if version is not None:
                since, policy = service.version_in_force(session, version=version)
                err_console.print(f"version {policy.version}, in force from {since}")
            else:
                when = (
                    date.fromisoformat(day)
                    if day
                    else local_day(context.now(), context.settings().timezone)
                )
                policy = service.policy_in_force(session, day=when)
                err_console.print(f"{when}: version {policy.version}")
            console.print_json(policy.model_dump_json())
    except DomainError as exc:
        context.fail(exc)


@app.command("history")
def show_history() -> None:
    """List every policy version with the day it took effect and who adopted it."""
    with context.work() as session:
        adopted = service.adopted_versions(session)
        for version in service.history(session).as_of_versions():
            row = adopted.get(version.version)
            who = (
                f"adopted {row.adopted_at:%Y-%m-%d %H:%M}Z by {row.adopted_by}"
                if row
                else "packaged default"
            )
            console.print(
                f"{version.effective_from}  {version.version:<24} {version.name}  ({who})"
            )


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
    file: Annotated[
        Path | None,
        typer.Argument(help="Policy file (TOML); the deployment's XIETONG_POLICY_FILE if none."),
    ] = None,
    effective_from: Annotated[str | None, typer.Option(help="Override the effective date.")] = None,
) -> None:
    """Adopt a policy file from its effective date; earlier days keep their rules."""
    try:
        with context.work() as session:
            if file is None:
                configured = context.settings().policy_file
                if configured is None:
                    err_console.print("name a file, or set XIETONG_POLICY_FILE")
                    raise typer.Exit(code=2)
                row = service.adopt_configured_policy(session, path=configured, now=context.now())
                if row is None:
                    console.print(f"{configured}: already adopted")
                    return
            else:
                row = service.adopt_policy(
                    session,
                    principal=SYSTEM,
                    text=file.read_text(encoding="utf-8"),
                    source=str(file),
                    effective_from=date.fromisoformat(effective_from) if effective_from else None,
                    now=context.now(),
                )
    except DomainError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(code=2) from None
    console.print(f"adopted {row.version} from {row.effective_from}")
