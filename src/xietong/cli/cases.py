"""`xietong cases`: cases, clusters, chains and spillovers, quarantine beds; the scheduled jobs
(cases from screening candidates, closing quiet clusters, beds for waiting orders)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, cast, get_args

import typer
from rich.table import Table

from xietong.areas import service as areas_service
from xietong.cases import line_lists, metrics, service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.links import service as link_service
from xietong.cases.quarantine import service as quarantine_service
from xietong.cases.schemas import ClusterFilter, DistrictDay
from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.flows import line_lists as line_list_flow
from xietong.people.protection import PersonalDataProtector

app = typer.Typer(
    help="Cases, clusters, transmission chains, close contacts and quarantine.",
    no_args_is_help=True,
)

DayOption = Annotated[str | None, typer.Option(help="Local day (YYYY-MM-DD); today by default.")]


@app.command("list")
def list_cases(
    day: Annotated[str | None, typer.Option(help="Report day (YYYY-MM-DD).")] = None,
    district: Annotated[str | None, typer.Option(help="District code of report.")] = None,
    surface: Annotated[bool, typer.Option(help="Only cases found on the surface.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List cases, newest report first."""
    when = date.fromisoformat(day) if day else None
    try:
        with context.work() as session:
            cases, total = service.list_cases(
                session,
                principal=SYSTEM,
                district_code=district,
                first_day=when,
                last_day=when,
                on_surface=True if surface else None,
                limit=limit,
            )
            reads = service.to_reads(session, cases)
    except DomainError as exc:
        context.fail(exc)
    table = Table(title=f"{total} cases")
    for column in ("id", "day", "district", "class", "found", "reason"):
        table.add_column(column)
    for case in reads:
        table.add_row(
            str(case.id),
            case.report_day.isoformat(),
            case.report_district_code,
            case.classification,
            "under control" if case.found_under_control else "surface",
            case.control_reason or "",
        )
    console.print(table)


@app.command("summary")
def summary(day: DayOption = None) -> None:
    """A day's figures per district of report, as the bulletin counts them."""
    when = context.day(day)
    with context.work() as session:
        codes = areas_service.district_code_by_id(session)
        figures = metrics.daily_metrics(
            session, cells=[(d, when) for d in codes], tz=context.settings().timezone
        )
        rows = [DistrictDay.of(codes[d], figures[(d, when)]) for d in sorted(codes)]
    table = Table(title=f"cases on {when}")
    names = ["new_confirmed", "conversions", "new_asymptomatic", "found_under_control"]
    names += ["found_on_surface", "new_infections", "quarantine_occupancy"]
    table.add_column("district")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right")
    for row in [*(r for r in rows if r.has_figures()), DistrictDay.total(rows)]:
        table.add_row(row.district_code, *(str(getattr(row, name)) for name in names))
    console.print(table)


@app.command("from-candidates")
def from_candidates(
    limit: Annotated[int, typer.Option(help="Candidates to take at most.")] = 10_000,
) -> None:
    """Create cases from the screening domain's pending case candidates."""
    with context.work() as session:
        report = service.create_cases_from_candidates(
            session, limit=limit, tz=context.settings().timezone, now=context.now()
        )
    console.print_json(report.model_dump_json())


@app.command("chain")
def chain(
    case_id: Annotated[int, typer.Argument(help="Any case of the chain.")],
    output: Annotated[Path | None, typer.Option(help="Write the JSON here.")] = None,
) -> None:
    """Export the chain of a case as JSON (nodes, edges and counts)."""
    try:
        with context.work() as session:
            exported = link_service.export_chain(session, principal=SYSTEM, case_id=case_id)
    except DomainError as exc:
        context.fail(exc)
    text = exported.model_dump_json(indent=2)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"chain {exported.chain_id}: {exported.cases} cases written to {output}")
    else:
        console.print_json(text)


@app.command("chains")
def chains(
    crossing: Annotated[bool, typer.Option(help="Only chains across districts.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List transmission chains, largest first."""
    with context.work() as session:
        found, total = link_service.list_chains(
            session, principal=SYSTEM, crossing_districts=crossing, limit=limit
        )
    table = Table(title=f"{total} chains")
    for column in ("chain", "cases", "districts", "spillovers", "first", "last"):
        table.add_column(column)
    for c in found:
        table.add_row(
            str(c.chain_id),
            str(c.cases),
            " ".join(c.districts),
            str(c.spillover_links),
            c.first_report_day.isoformat(),
            c.last_report_day.isoformat(),
        )
    console.print(table)


@app.command("spillovers")
def spillovers(
    first_day: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    last_day: Annotated[str | None, typer.Option(help="Last day; the first by default.")] = None,
) -> None:
    """Spillover links per day and pair of districts."""
    first = date.fromisoformat(first_day)
    last = date.fromisoformat(last_day) if last_day else first
    with context.work() as session:
        rows = link_service.spillovers(session, principal=SYSTEM, first_day=first, last_day=last)
    table = Table(title="spillovers (外溢)")
    for column in ("day", "from", "to", "links"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.day.isoformat(), row.from_district_code, row.to_district_code, str(row.links)
        )
    console.print(table)


@app.command("clusters")
def clusters(
    status: Annotated[
        str | None, typer.Option(help="proposed, confirmed, rejected, active or closed.")
    ] = None,
    day: DayOption = None,
) -> None:
    """List clusters (points)."""
    when = context.day(day)
    if status is not None and status not in get_args(ClusterFilter):
        err_console.print(f"status must be one of {', '.join(get_args(ClusterFilter))}")
        raise typer.Exit(code=2)
    with context.work() as session:
        found, total = cluster_service.list_clusters(
            session,
            principal=SYSTEM,
            status=cast(ClusterFilter | None, status),
            today=when,
            limit=500,
        )
        reads = cluster_service.to_reads(session, found, today=when)
    table = Table(title=f"{total} clusters")
    for column in ("id", "building", "district", "status", "cases", "last case", "closes"):
        table.add_column(column)
    for c in reads:
        table.add_row(
            str(c.id),
            c.building_code,
            c.district_code,
            c.status + (" (active)" if c.active else ""),
            str(c.cases),
            c.last_case_day.isoformat(),
            c.closes_on.isoformat(),
        )
    console.print(table)


@app.command("import")
def import_line_list(
    kind: Annotated[line_lists.LineListKind, typer.Argument(help="cases or contacts")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV line list; the columns are in docs/formats.md (a case or cluster already "
            "registered is named by its id)."
        ),
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
) -> None:
    """Register the cases or close contacts of a line list: the whole file or nothing."""
    settings = context.settings()
    try:
        with context.work() as session, file.open(encoding="utf-8-sig", newline="") as stream:
            report = line_list_flow.import_line_list(
                session,
                principal=SYSTEM,
                protector=PersonalDataProtector.from_settings(settings),
                kind=kind,
                stream=stream,
                now=context.now(),
                tz=settings.timezone,
                load_valid=load_valid,
                rejects_path=rejects,
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@app.command("close-clusters")
def close_clusters(day: DayOption = None) -> None:
    """Close the clusters that had no new case for the policy's number of days."""
    with context.work() as session:
        closed = cluster_service.close_inactive_clusters(
            session, today=context.day(day), now=context.now()
        )
    console.print(f"{len(closed)} clusters closed")


@app.command("assign-beds")
def assign_beds(day: DayOption = None) -> None:
    """Give free quarantine beds to orders waiting for one."""
    with context.work() as session:
        placed = quarantine_service.assign_waiting_orders(
            session, today=context.day(day), now=context.now()
        )
    console.print(f"{len(placed)} orders placed")


@app.command("occupancy")
def occupancy(day: DayOption = None) -> None:
    """Quarantine beds in use per facility on a day."""
    with context.work() as session:
        used = quarantine_service.occupancy(session, principal=SYSTEM, day=context.day(day))
    table = Table(title=f"quarantine beds on {used.day} ({used.awaiting_bed} orders waiting)")
    for column in ("facility", "district", "kind", "beds", "used"):
        table.add_column(column, justify="right" if column in ("beds", "used") else "left")
    for f in used.facilities:
        table.add_row(f.facility_code, f.district_code, f.kind, str(f.beds), str(f.used))
    console.print(table)
