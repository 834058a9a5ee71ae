"""`xietong auth`: list users, shut them out or let them back, reset passwords, list, issue and
revoke tokens. Passwords are read from a prompt or stdin, never from the command line."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from xietong.areas import service as areas_service
from xietong.auth import service, tokens
from xietong.cli import context
from xietong.cli.context import console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM

app = typer.Typer(help="Users' access: tokens, deactivation, passwords.", no_args_is_help=True)

Username = Annotated[str, typer.Argument(help="Login name.")]


@app.command("users")
def users(
    inactive: Annotated[bool, typer.Option(help="Only deactivated users.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 100,
) -> None:
    """List users by name."""
    with context.work() as session:
        rows, total = service.list_users(session, active=not inactive, limit=limit)
        codes = areas_service.district_code_by_id(session)
        shown = [service.user_read(u, district_codes=codes) for u in rows]
    table = Table("user", "role", "district", "active", "password changed")
    for u in shown:
        table.add_row(
            u.username,
            u.role.value,
            u.district_code or "city",
            "yes" if u.active else "no",
            u.password_changed_at.isoformat(timespec="minutes") if u.password_changed_at else "",
        )
    console.print(table)
    console.print(f"{total} users")


@app.command("deactivate")
def deactivate(username: Username) -> None:
    """Shut a user out: its tokens and dashboard sessions end, and its open streams with them."""
    try:
        with context.work() as session:
            service.deactivate_user(session, username=username, now=context.now())
            service.record_audit(
                session, principal=SYSTEM, action="deactivate", entity="user", entity_ids=[username]
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"user [bold]{username}[/bold] deactivated; its tokens and sessions ended")


@app.command("reactivate")
def reactivate(username: Username) -> None:
    """Let a deactivated user log in again (its old tokens stay revoked)."""
    try:
        with context.work() as session:
            service.reactivate_user(session, username=username)
            service.record_audit(
                session, principal=SYSTEM, action="reactivate", entity="user", entity_ids=[username]
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"user [bold]{username}[/bold] reactivated")


@app.command("reset-password")
def reset_password(username: Username) -> None:
    """Give a user a new random password, printed once; its tokens and sessions end."""
    try:
        with context.work() as session:
            _, password = service.reset_password(session, username=username, now=context.now())
            service.record_audit(
                session,
                principal=SYSTEM,
                action="reset_password",
                entity="user",
                entity_ids=[username],
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"new password for {username} (shown once): {password}")


@app.command("tokens")
def list_tokens(
    username: Username,
    all_: Annotated[bool, typer.Option("--all", help="Also expired and revoked ones.")] = False,
) -> None:
    """A user's tokens and dashboard sessions, newest first."""
    try:
        with context.work() as session:
            user = service.require_user(session, username=username)
            rows = tokens.list_tokens(session, user_id=user.id, include_ended=all_)
            table = Table("id", "name", "prefix", "created", "expires", "revoked")
            for t in rows:
                table.add_row(
                    str(t.id),
                    t.name,
                    t.prefix,
                    t.created_at.isoformat(timespec="minutes"),
                    t.expires_at.isoformat(timespec="minutes") if t.expires_at else "never",
                    t.revoked_at.isoformat(timespec="minutes") if t.revoked_at else "",
                )
    except DomainError as exc:
        context.fail(exc)
    console.print(table)


@app.command("issue")
def issue(
    username: Username,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    days: Annotated[
        int | None, typer.Option(min=1, help="Lifetime (default: the maximum).")
    ] = None,
) -> None:
    """Issue a user a new API token, printed once."""
    settings = context.settings()
    now = context.now()
    lifetime = timedelta(days=min(days or settings.token_days, settings.token_days))
    try:
        with context.work() as session:
            user = service.require_user(session, username=username)
            token = tokens.issue_token(
                session, user=user, name=name, expires_at=now + lifetime, now=now
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"API token (shown once, expires {(now + lifetime).date()}): {token}")


@app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(min=1, help="The token's id.")]) -> None:
    """Revoke one token or dashboard session by its id (see `xietong auth tokens`)."""
    try:
        with context.work() as session:
            tokens.revoke_token_by_id(session, principal=SYSTEM, token_id=token_id)
    except DomainError as exc:
        context.fail(exc)
    console.print(f"token {token_id} revoked")
