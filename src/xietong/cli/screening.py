"""`xietong screening`: the screening plan, sampling sites, tube and result files, conflicts and
coverage. Files load whole or not at all unless `--load-valid`; re-loading one changes nothing."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from xietong.areas import service as areas_service
from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.flows import intake, screening
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service
from xietong.screening.results import service as results_module
from xietong.screening.sampling import service as sampling
from xietong.screening.schemas import ConflictResolve, SiteCreate

app = typer.Typer(help="Mass screening: plans, tubes, lab results, coverage.", no_args_is_help=True)


class Keep(StrEnum):
    current = "current"
    reported = "reported"


def _progress(what: str) -> Callable[[int], None]:
    def report(rows: int) -> None:
        # Plain lines: progress must be readable when stderr is a file or a pipe. Rows are only
        # checked so far: a file refused whole writes nothing, so never say "loaded" here.
        print(f"{what}: {rows:,} rows read", file=sys.stderr, flush=True)

    return report


def _load_file(
    file: Path,
    load: Callable[..., BaseModel],
    *,
    load_valid: bool,
    rejects: Path | None,
    batch_rows: int,
    **particular: Any,
) -> None:
    """Load a laboratory's or a site's CSV file through `load` in one unit of work, as the
    system, with progress on stderr; print its report, or the error and exit."""
    try:
        with context.work() as session, file.open(encoding="utf-8-sig", newline="") as stream:
            report = load(
                session,
                principal=SYSTEM,
                stream=stream,
                source_name=file.name,
                tz=context.settings().timezone,
                now=context.now(),
                load_valid=load_valid,
                rejects_path=rejects,
                chunk_rows=batch_rows,
                progress=_progress(file.name),
                **particular,
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@app.command("plan")
def plan(
    day: Annotated[
        str | None, typer.Option("--date", help="Day (YYYY-MM-DD); today by default.")
    ] = None,
    preview: Annotated[bool, typer.Option(help="Show the plan without issuing it.")] = False,
    district: Annotated[str | None, typer.Option(help="List this district's buildings.")] = None,
    affected: Annotated[
        list[str] | None,
        typer.Option(help="Wind-down mode: DISTRICT=FIRST_ROUND_DAY (repeatable)."),
    ] = None,
) -> None:
    """Issue the screening plan of a day from the policy and the high-risk areas, and show it."""
    when = context.day(day)
    try:
        with context.work() as session:
            rounds = {}
            for item in affected or []:
                code, _, first = item.partition("=")
                rounds[areas_service.get_district(session, code=code).id] = date.fromisoformat(
                    first
                )
            if not preview:
                screening.issue_plan(
                    session,
                    principal=SYSTEM,
                    day=when,
                    now=context.now(),
                    wind_down_first_rounds=rounds,
                )
            shown = screening.read_plan(
                session,
                principal=SYSTEM,
                day=when,
                district_code=district,
                limit=500,
                wind_down_first_rounds=rounds,
            )
    except DomainError as exc:
        context.fail(exc)
    title = (
        f"plan of {when} ({'issued' if shown.issued else 'preview'}, policy {shown.policy_version})"
    )
    table = Table(title=title)
    for column in ("district", "buildings", "persons", "tubes", "why"):
        table.add_column(column, justify="left" if column in ("district", "why") else "right")
    for row in shown.districts:
        why = ", ".join(f"{status} {n}" for status, n in row.by_status.items())
        table.add_row(
            row.district_code, f"{row.buildings:,}", f"{row.persons:,}", f"{row.tubes:,}", why
        )
    console.print(table)
    for building in shown.buildings if district else []:
        console.print(f"  {building.building_code}  {building.persons:>5}  {building.reason}")


@app.command("sites")
def sites(
    file: Annotated[
        Path, typer.Argument(help="CSV with site_code, name, district_code[, building_code].")
    ],
) -> None:
    """Register sampling sites from CSV (existing codes are left as they are)."""
    added = 0
    try:
        with context.work() as session, file.open(encoding="utf-8-sig", newline="") as stream:
            known = {s.code for s in service.list_sites(session, principal=SYSTEM)}
            for record in csv.DictReader(stream):
                if record["site_code"] in known:
                    continue
                service.create_site(
                    session,
                    principal=SYSTEM,
                    site_in=SiteCreate(
                        code=record["site_code"],
                        name=record["name"],
                        district_code=record["district_code"],
                        building_code=record.get("building_code") or None,
                    ),
                    now=context.now(),
                )
                added += 1
    except DomainError as exc:
        context.fail(exc)
    console.print(f"{added} sites added")


@app.command("tubes")
def tubes(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, one row per swab: tube_code, site_code, collected_at, pool_size, person_id "
            "or national_id[, kind, building_code, replaces_tube_code]."
        ),
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
    batch_rows: Annotated[
        int, typer.Option(help="Rows checked and written per round trip.", hidden=True)
    ] = sampling.CHUNK_ROWS,
) -> None:
    """Register tubes and their members: the whole file or nothing; re-loading changes nothing."""
    _load_file(
        file,
        service.register_tubes_file,
        load_valid=load_valid,
        rejects=rejects,
        batch_rows=batch_rows,
        protector=PersonalDataProtector.from_settings(context.settings()),
        expected_rows=file.stat().st_size // 60 if file.is_file() else None,
    )


@app.command("results")
def results(
    file: Annotated[
        Path, typer.Argument(help="CSV: tube_code, result, lab, reported_at[, ct_value].")
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
    batch_rows: Annotated[
        int, typer.Option(help="Rows staged per round trip.", hidden=True)
    ] = results_module.CHUNK_ROWS,
) -> None:
    """Load laboratory results and act on them (holds, retests, cases, referrals) in one go."""
    _load_file(
        file,
        intake.ingest_lab_results,
        load_valid=load_valid,
        rejects=rejects,
        batch_rows=batch_rows,
    )


@app.command("conflicts")
def conflicts(
    status: Annotated[str, typer.Option(help="open, kept, replaced or all.")] = "open",
) -> None:
    """List differing second results waiting for a decision."""
    with context.work() as session:
        items, total = service.list_conflicts(
            session, principal=SYSTEM, status=None if status == "all" else status, limit=500
        )
    table = Table(title=f"{total} conflicts ({status})")
    for column in ("id", "tube", "district", "current", "reported", "status"):
        table.add_column(column)
    for c in items:
        table.add_row(
            str(c.id),
            c.tube_code,
            c.district_code,
            f"{c.current.outcome} {c.current.ct_value or ''} {c.current.lab}",
            f"{c.reported.outcome} {c.reported.ct_value or ''} {c.reported.lab}",
            c.status,
        )
    console.print(table)


@app.command("resolve")
def resolve(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id.")],
    keep: Annotated[
        Keep, typer.Option(help="current: keep the result of record; reported: replace it.")
    ],
    note: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Resolve a conflict between two results of a tube."""
    try:
        with context.work() as session:
            resolution = service.resolve_conflict(
                session,
                principal=SYSTEM,
                conflict_id=conflict_id,
                decision=ConflictResolve(keep=keep.value, note=note),
                now=context.now(),
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(resolution.model_dump_json())


@app.command("coverage")
def coverage(
    day: Annotated[
        str | None, typer.Option("--date", help="Day (YYYY-MM-DD); today by default.")
    ] = None,
    district: Annotated[str | None, typer.Option(help="Per building of this district.")] = None,
) -> None:
    """Planned, sampled, resulted and missed persons, and positivity, of a round."""
    when = context.day(day)
    try:
        with context.work() as session:
            read = service.coverage(session, principal=SYSTEM, day=when, district_code=district)
    except DomainError as exc:
        context.fail(exc)
    if not read.plan_issued:
        err_console.print(f"no plan was issued for {when}: nobody counts as planned")
    table = Table(title=f"coverage of {when}")
    for column in (
        "area",
        "planned",
        "sampled",
        "resulted",
        "missed",
        "tubes",
        "positive",
        "positivity",
    ):
        table.add_column(column, justify="left" if column == "area" else "right")
    for row in read.rows:
        table.add_row(
            row.area_code,
            f"{row.planned:,}",
            f"{row.sampled:,}",
            f"{row.resulted:,}",
            f"{row.missed:,}",
            f"{row.tubes:,}",
            f"{row.tubes_positive:,}",
            "—" if row.positivity is None else f"{row.positivity:.2%}",
        )
    console.print(table)
