"""`xietong referrals`: the inbox, outbox and overdue lists, one referral, and its actions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xietong.cli import context
from xietong.cli.context import console
from xietong.core.errors import DomainError
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.tasks import escalate_overdue

app = typer.Typer(help="Cross-district referrals (協查).", no_args_is_help=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="Act as this user (default: the system, city-wide).")
]


@app.command("list")
def list_referrals(
    box: Annotated[str, typer.Option(help="all, inbox, outbox, overdue or escalated.")] = "all",
    user: UserOption = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """List referrals, most urgent first, with the time left on each."""
    try:
        with context.work() as session:
            items, total = query_service.list_referrals(
                session,
                principal=context.principal(session, user),
                now=context.now(),
                box=box,  # type: ignore[arg-type]
                limit=limit,
            )
    except DomainError as exc:
        context.fail(exc)
    table = Table(title=f"{total} referrals ({box})")
    for column in ("id", "status", "reason", "from", "to", "hop", "left", "escalated"):
        table.add_column(column)
    for r in items:
        left = "—" if r.seconds_left is None else f"{r.seconds_left // 60} min"
        table.add_row(
            str(r.id),
            r.status.value,
            r.reason,
            r.from_district_code,
            r.to_district_code,
            str(r.hop),
            ("[red]overdue[/red] " if r.overdue else "") + left,
            "●" if r.escalated_at else "",
        )
    console.print(table)


@app.command("show")
def show(referral_id: int, user: UserOption = None) -> None:
    """Show one referral with its chain of hand-offs (as JSON)."""
    protector = PersonalDataProtector.from_settings(context.settings())
    try:
        with context.work() as session:
            read = query_service.read_referral(
                session,
                principal=context.principal(session, user),
                protector=protector,
                referral_id=referral_id,
                now=context.now(),
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(read.model_dump_json())


@app.command("act")
def act(
    referral_id: int,
    action: Annotated[
        str, typer.Argument(help="acknowledge, located, controlled, close, decline or reassign.")
    ],
    note: Annotated[
        str | None, typer.Option(help="Note; the feedback to close, the reason to decline.")
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="District code: re-route (decline) or reassign.")
    ] = None,
    user: UserOption = None,
) -> None:
    """Act on a referral as the receiving district (or the command centre)."""
    tz = context.settings().timezone
    try:
        with context.work() as session:
            who = context.principal(session, user)
            common = {"principal": who, "referral_id": referral_id, "at": context.now(), "tz": tz}
            if action in action_service.STEPS:
                referral = action_service.act(
                    session,
                    action=action_service.STEPS[action],
                    note=note,
                    **common,  # type: ignore[arg-type]
                )
            elif action == "close":
                referral = action_service.close(session, feedback=note or "", **common)  # type: ignore[arg-type]
            elif action == "decline":
                referral = action_service.decline(
                    session,
                    reason=note or "",
                    redirect_to_district_code=to,
                    **common,  # type: ignore[arg-type]
                )
            elif action == "reassign":
                referral = action_service.reassign(
                    session,
                    to_district_code=to or "",
                    note=note,
                    **common,  # type: ignore[arg-type]
                )
            else:
                raise DomainError(f"unknown action {action!r}", code="unknown_action")
            console.print(f"referral {referral.id}: {referral.status} (hop {referral.hop})")
    except DomainError as exc:
        context.fail(exc)


@app.command("escalate")
def escalate(as_of: context.AsOfOption = None) -> None:
    """Run the escalation job once (the server runs it every 30 seconds)."""
    command_clock = context.as_of(as_of)
    with context.work_at(command_clock) as session:
        ids = escalate_overdue(session, now=command_clock.now(), tz=context.settings().timezone)
    console.print(f"{len(ids)} referrals escalated: {ids}")
