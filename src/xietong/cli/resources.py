"""`xietong resources`: capacity, capacity against demand, the mutual-aid plan, its approval and
the transfer orders, for the command centre's logistics desk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from xietong.cli import context
from xietong.cli.context import console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.mutual_aid.orders import service as transfer_orders
from xietong.mutual_aid.outlook import service as outlook
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.schemas import DemandRequest, PlanRequest
from xietong.resources import service
from xietong.resources.vocabulary import RESOURCES

app = typer.Typer(
    help="Mutual aid: beds and laboratory capacity shared between districts.",
    no_args_is_help=True,
)
capacity_app = typer.Typer(help="Capacity of quarantine places and laboratories.")
app.add_typer(capacity_app, name="capacity")

DayOption = Annotated[
    str | None,
    typer.Option("--first-day", help="First planning day (YYYY-MM-DD); today if not set."),
]
DaysOption = Annotated[int, typer.Option(help="Days to plan (1-28).", min=1, max=28)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
InputsOption = Annotated[
    Path | None,
    typer.Option(
        "--inputs",
        help="JSON file of stated inputs (recent_new_cases, forecast_new_cases, new_contacts, "
        "planned_tubes, in_use, contacts_per_case, case_stay_days), per district code and day.",
    ),
]


def _inputs(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise typer.BadParameter("the inputs file must hold a JSON object", param_hint="--inputs")
    return loaded


RequestT = TypeVar("RequestT", bound=BaseModel)


def _request(model: type[RequestT], values: dict[str, object]) -> RequestT:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(problems, param_hint="--inputs") from None


@capacity_app.callback(invoke_without_command=True)
def capacity(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD); today if not set.")] = None,
) -> None:
    """Capacity per district and resource on a day (beds, home isolation places, tubes a day)."""
    if ctx.invoked_subcommand is not None:
        return
    on = context.day(day)
    with context.work() as session:
        view = outlook.outlook(
            session,
            first_day=on,
            days=1,
            inputs=DemandRequest(),
            tz=context.settings().timezone,
        )
        table = Table(title=f"capacity on {on} (in use / capacity)")
        table.add_column("district")
        for resource in RESOURCES:
            table.add_column(resource, justify="right")
        for i, code in enumerate(view.district_codes):
            cells = [
                f"{int(view.in_use[r][i, 0]):,} / {int(view.capacity[r][i, 0]):,}"
                for r in RESOURCES
            ]
            if any(view.capacity[r][i, 0] or view.in_use[r][i, 0] for r in RESOURCES):
                table.add_row(code, *cells)
        console.print(table)


@capacity_app.command("import")
def capacity_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with district_code, code, kind, name, capacity[, first_day, last_day, "
            "note]; kind is centralised_quarantine, makeshift_hospital, home_isolation or "
            "laboratory."
        ),
    ],
    load_valid: context.LoadValidOption = False,
) -> None:
    """Import capacity reports from CSV: the whole file or nothing, every bad row named."""
    try:
        with context.work() as session, file.open(encoding="utf-8-sig", newline="") as stream:
            report = service.import_capacity(
                session, principal=SYSTEM, stream=stream, load_valid=load_valid, now=context.now()
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@app.command("demand")
def demand(
    first_day: DayOption = None,
    days: DaysOption = 7,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Every district and day, not only shortages.")
    ] = False,
    inputs: InputsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Capacity against demand per district, resource and day (shortages first)."""
    try:
        request = _request(DemandRequest, {**_inputs(inputs), "days": days})
        with context.work() as session:
            read = outlook.demand_read(
                outlook.outlook(
                    session,
                    first_day=context.day(first_day),
                    days=days,
                    inputs=request,
                    tz=context.settings().timezone,
                )
            )
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(read.model_dump_json())
        return
    rows = [c for c in read.cells if all_rows or c.gap > 0]
    level = (
        ""
        if read.demand_quantile is None
        else f" at the forecast's {100 * read.demand_quantile:g}th percentile"
    )
    table = Table(
        title=f"capacity against demand {read.first_day} – {read.last_day} "
        f"(demand from: {read.demand_source}{level}; policy {read.policy_version})"
    )
    for column in ("district", "resource", "day", "capacity", "in use", "needed", "gap"):
        table.add_column(column, justify="left" if column in ("district", "resource") else "right")
    for c in sorted(rows, key=lambda c: (-c.gap, c.day, c.district_code)):
        table.add_row(
            c.district_code,
            c.resource,
            c.day.isoformat(),
            f"{c.capacity:,}",
            f"{c.in_use:,}",
            f"{c.needed:,}",
            f"{c.gap:,}",
        )
    console.print(table)


@app.command("plan")
def plan(
    first_day: DayOption = None,
    days: DaysOption = 7,
    max_km: Annotated[
        float | None, typer.Option(help="Longest transfer allowed, km (no limit if not set).")
    ] = None,
    penalty_km: Annotated[
        float | None,
        typer.Option(help="Home-district preference: km added to every transfer (default 10)."),
    ] = None,
    store: Annotated[
        bool, typer.Option(help="Store the plan as proposed (--no-store: only show it).")
    ] = True,
    inputs: InputsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Plan the next days' transfers of persons and samples between districts."""
    request = _request(
        PlanRequest,
        {
            **_inputs(inputs),
            "first_day": context.day(first_day),
            "days": days,
            "max_travel_km": max_km,
            "transfer_penalty_km": penalty_km,
            "store": store,
        },
    )
    try:
        with context.work() as session:
            read = flows.propose_plan(
                session,
                principal=SYSTEM,
                request=request,
                tz=context.settings().timezone,
                now=context.now(),
            )
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(read.model_dump_json())
        return
    title = f"plan {read.id} ({read.status})" if read.id else "plan (not stored)"
    console.print(
        f"[bold]{title}[/bold] {read.first_day} – {read.last_day}: "
        f"{read.total_arrivals:,} to place, {read.total_transferred:,} moved between districts, "
        f"{read.total_unmet:,} without a place "
        f"({read.unmet_if_kept_at_home:,} if every district kept to itself)"
    )
    transfers = Table(title="transfers")
    for column in ("day", "resource", "from", "to", "amount", "km"):
        transfers.add_column(column, justify="right" if column in ("amount", "km") else "left")
    for t in read.transfers:
        transfers.add_row(
            t.day.isoformat(),
            t.resource,
            t.from_district_code,
            t.to_district_code,
            f"{t.amount:,}",
            f"{t.distance_km:.0f}",
        )
    console.print(transfers)
    if read.shortages:
        shortages = Table(title="remaining shortages")
        for column in ("day", "resource", "district", "amount"):
            shortages.add_column(column, justify="right" if column == "amount" else "left")
        for s in read.shortages:
            shortages.add_row(s.day.isoformat(), s.resource, s.district_code, f"{s.amount:,}")
        console.print(shortages)


@app.command("approve")
def approve(
    plan_id: Annotated[int, typer.Argument(help="The proposed plan's number.")],
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Approve a proposed plan: its transfers become orders the districts acknowledge."""
    try:
        with context.work() as session:
            summary, orders = flows.approve_plan(
                session, principal=SYSTEM, plan_id=plan_id, note=note, now=context.now()
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"plan {summary.id} approved: {len(orders)} transfer orders issued")


@app.command("orders")
def orders(
    district: Annotated[
        str | None, typer.Option(help="Only orders this district sends or receives.")
    ] = None,
    status: Annotated[str | None, typer.Option(help="issued, partly_acknowledged, …")] = None,
    plan_id: Annotated[int | None, typer.Option("--plan", help="Only this plan's orders.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.", min=1, max=500)] = 100,
) -> None:
    """List transfer orders and who has acknowledged them."""
    try:
        with context.work() as session:
            items, total = transfer_orders.list_orders(
                session,
                principal=SYSTEM,
                status=status,
                plan_id=plan_id,
                district_id=service.district_id_of(session, district),
                limit=limit,
            )
    except DomainError as exc:
        context.fail(exc)
    table = Table(title=f"{total} transfer orders")
    for column in ("id", "plan", "day", "resource", "from", "to", "amount", "status"):
        table.add_column(column, justify="right" if column in ("id", "amount") else "left")
    for o in items:
        table.add_row(
            str(o.id),
            str(o.plan_id or "—"),
            o.day.isoformat(),
            o.resource,
            o.from_district_code,
            o.to_district_code,
            f"{o.amount:,}",
            o.status,
        )
    console.print(table)
