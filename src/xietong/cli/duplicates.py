"""`xietong people duplicates`: find, list, dismiss and merge possible duplicate persons."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xietong.cli import context
from xietong.cli.context import console
from xietong.core.errors import DomainError
from xietong.people import duplicates
from xietong.people.protection import PersonalDataProtector

app = typer.Typer(help="Possible duplicate persons.", no_args_is_help=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="Act as this user (default: the system, city-wide).")
]


@app.command("find")
def find(user: UserOption = None) -> None:
    """Propose the new pairs of possible duplicates (same name or phone, and birth date)."""
    try:
        with context.work() as session:
            report = duplicates.find_duplicates(
                session, principal=context.principal(session, user), now=context.now()
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@app.command("list")
def list_pairs(
    status: Annotated[str, typer.Option(help="open, merged, dismissed or superseded.")] = "open",
    user: UserOption = None,
    limit: Annotated[int, typer.Option(help="Rows to show.", min=1)] = 50,
) -> None:
    """List the pairs with a status, both persons side by side (an audited read)."""
    protector = PersonalDataProtector.from_settings(context.settings())
    try:
        with context.work() as session:
            items, total = duplicates.list_pairs(
                session,
                principal=context.principal(session, user),
                protector=protector,
                status=status,
                limit=limit,
            )
    except DomainError as exc:
        context.fail(exc)
    table = Table(title=f"{total} pairs ({status})")
    for column in ("pair", "reason", "person", "name", "phone", "born", "other", "name ", "phone "):
        table.add_column(column)
    for p in items:
        table.add_row(
            str(p.id),
            p.reason,
            f"{p.first.id} {p.first.id_masked}",
            p.first.name,
            p.first.phone or "",
            str(p.first.birth_date),
            f"{p.second.id} {p.second.id_masked}",
            p.second.name,
            p.second.phone or "",
        )
    console.print(table)


@app.command("dismiss")
def dismiss(
    pair_id: Annotated[int, typer.Argument(help="The pair.")],
    note: Annotated[str | None, typer.Option(help="Why they are not the same person.")] = None,
    user: UserOption = None,
) -> None:
    """Record that a pair is not the same person: it is never proposed again."""
    try:
        with context.work() as session:
            duplicates.dismiss(
                session,
                principal=context.principal(session, user),
                pair_id=pair_id,
                note=note,
                now=context.now(),
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"pair {pair_id} dismissed")


@app.command("merge")
def merge(
    pair_id: Annotated[int, typer.Argument(help="The pair.")],
    survivor: Annotated[int, typer.Option(help="The person kept (one of the pair's two).")],
    user: UserOption = None,
) -> None:
    """Merge a pair: every record of the other person moves to the survivor, in one
    transaction; the other person is kept, marked merged."""
    from xietong.flows.duplicates import merge_duplicates

    try:
        with context.work() as session:
            report = merge_duplicates(
                session,
                principal=context.principal(session, user),
                pair_id=pair_id,
                survivor_id=survivor,
                now=context.now(),
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())
