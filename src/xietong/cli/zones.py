"""`xietong zones`: list risk areas, propose, decide, lift, run the daily evaluation, what-if."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xietong.areas import service as areas_service
from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.core.clock import Clock, local_day
from xietong.core.errors import DomainError
from xietong.policy.loader import PolicyError, bundled_policy, bundled_policy_names, load_policy
from xietong.policy.rules import Policy
from xietong.zones import service, tasks, whatif
from xietong.zones.models import RiskArea
from xietong.zones.schemas import LockEpisode
from xietong.zones.service import ALL_STATUSES

app = typer.Typer(
    help="High-risk areas by building: propose, approve, lift (快封快解).", no_args_is_help=True
)

UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Act as this user (recorded on the step); the system otherwise."),
]
ReasonOption = Annotated[str | None, typer.Option(help="Why (recorded on the step).")]


def _print_area(area: RiskArea, verb: str) -> None:
    since = f", locked from {area.active_from}" if area.active_from else ""
    console.print(f"area {area.id} {verb}: {area.status}{since}")


def _decide(
    decide: Callable[..., RiskArea],
    *,
    area_id: int,
    reason: str | None,
    user: str | None,
    show: Callable[[RiskArea], None],
) -> None:
    """Take one decision on an area as `user` (or the system), in its own unit of work."""
    try:
        with context.work() as session:
            area = decide(
                session,
                principal=context.principal(session, user),
                area_id=area_id,
                reason=reason,
                now=context.now(),
                tz=context.settings().timezone,
            )
            show(area)
    except DomainError as exc:
        context.fail(exc)


@app.command("list")
def list_areas(
    district: Annotated[str | None, typer.Option(help="District code.")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help=f"Status, repeatable: {', '.join(ALL_STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
) -> None:
    """List risk areas, newest first."""
    try:
        with context.work() as session:
            district_id = (
                areas_service.get_district(session, code=district).id if district else None
            )
            areas, total = service.list_areas(
                session, district_id=district_id, statuses=status, limit=limit
            )
            reads = service.to_reads(session, areas)
    except DomainError as exc:
        context.fail(exc)
    table = Table(
        title=f"{total} risk areas" + (f" (showing {len(reads)})" if total > limit else "")
    )
    for column in ("id", "district", "building", "address", "status", "locked", "lifted", "by"):
        table.add_column(column)
    for a in reads:
        table.add_row(
            str(a.id),
            a.district_code,
            a.building_code,
            a.address_label,
            a.status,
            str(a.active_from or ""),
            str(a.lifted_on or ""),
            a.decided_by or a.proposed_by,
        )
    console.print(table)


def _open_areas(
    buildings: list[str],
    *,
    reason: str,
    user: str | None,
    designate: bool,
    at: Clock | None = None,
) -> None:
    command_clock = at or context.clock()
    try:
        with context.work_at(command_clock) as session:
            principal = context.principal(session, user)
            for code in buildings:
                area = service.open_area(
                    session,
                    principal=principal,
                    building_code=code,
                    reason=reason,
                    designate=designate,
                    tz=context.settings().timezone,
                    now=command_clock.now(),
                )
                _print_area(area, f"{'designated' if designate else 'proposed'} for {code}")
    except DomainError as exc:
        context.fail(exc)


@app.command("propose")
def propose(
    building: Annotated[list[str], typer.Argument(help="Building code(s), one area each.")],
    reason: Annotated[str, typer.Option(help="Why the building must be locked.")],
    user: UserOption = None,
) -> None:
    """Propose buildings as high-risk areas; the district approves or rejects each."""
    _open_areas(building, reason=reason, user=user, designate=False)


@app.command("designate")
def designate(
    building: Annotated[list[str], typer.Argument(help="Building code(s), one area each.")],
    reason: Annotated[str, typer.Option(help="Why the building is locked at once.")],
    user: UserOption = None,
    as_of: context.AsOfOption = None,
) -> None:
    """Designate buildings directly as high-risk areas, locked from today."""
    _open_areas(building, reason=reason, user=user, designate=True, at=context.as_of(as_of))


@app.command("approve")
def approve(
    area_id: Annotated[int, typer.Argument(help="Area id.")],
    reason: ReasonOption = None,
    user: UserOption = None,
) -> None:
    """Approve a proposed area: it is locked from today."""
    _decide(
        service.approve_area,
        area_id=area_id,
        reason=reason,
        user=user,
        show=lambda area: _print_area(area, "approved"),
    )


@app.command("reject")
def reject(
    area_id: Annotated[int, typer.Argument(help="Area id.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    lifting: Annotated[
        bool, typer.Option(help="Reject the proposed lifting instead: the area stays locked.")
    ] = False,
    user: UserOption = None,
) -> None:
    """Reject a proposed area, or (with --lifting) a proposed lifting."""
    _decide(
        service.reject_lifting if lifting else service.reject_area,
        area_id=area_id,
        reason=reason,
        user=user,
        show=lambda area: _print_area(area, "lifting rejected" if lifting else "rejected"),
    )


@app.command("lift")
def lift(
    area_id: Annotated[int, typer.Argument(help="Area id.")],
    reason: ReasonOption = None,
    user: UserOption = None,
) -> None:
    """Approve a proposed lifting, or lift an active area directly (a reason is then required)."""
    _decide(
        service.lift_area,
        area_id=area_id,
        reason=reason,
        user=user,
        show=lambda area: console.print(f"area {area.id} lifted on {area.lifted_on}"),
    )


@app.command("evaluate")
def evaluate(
    day: Annotated[
        str | None,
        typer.Option("--date", help="Day evaluated (YYYY-MM-DD); the --as-of day by default."),
    ] = None,
    as_of: context.AsOfOption = None,
) -> None:
    """Propose the lifting of every area with the policy's clean days up to a day."""
    command_clock = context.as_of(as_of)
    now = command_clock.now()
    tz = context.settings().timezone
    when = context.day(day) if day is not None else local_day(now, tz)
    with context.work_at(command_clock) as session:
        report = tasks.evaluate_day(session, day=when, tz=tz, now=now)
    if report.screening == "unavailable":
        err_console.print(
            "[yellow]no screening results are available: the policy asks for negative "
            "screening, so no lifting can be proposed[/yellow]"
        )
    console.print_json(report.model_dump_json())


def _policy(reference: str) -> Policy:
    path = Path(reference)
    if path.is_file():
        return load_policy(path)
    if reference in bundled_policy_names():
        return bundled_policy(reference)
    packaged = ", ".join(bundled_policy_names())
    raise typer.BadParameter(f"{reference!r} is neither a file nor a packaged policy ({packaged})")


def _episodes(found: list[LockEpisode]) -> str:
    return (
        "; ".join(
            f"{e.locked_on:%m-%d}→{e.lifted_on:%m-%d}" if e.lifted_on else f"{e.locked_on:%m-%d}→"
            for e in found
        )
        or "—"
    )


@app.command("whatif")
def what_if(
    policy: Annotated[str, typer.Argument(help="Policy file (TOML) or a packaged policy name.")],
    first_day: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    last_day: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")],
    district: Annotated[str | None, typer.Option(help="Only this district (code).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON.")
    ] = False,
) -> None:
    """Replay a past period under another policy, side by side with what happened."""
    try:
        alternative = _policy(policy)
    except PolicyError as exc:
        err_console.print(str(exc))
        raise typer.Exit(code=2) from None
    try:
        with context.work() as session:
            district_id = (
                areas_service.get_district(session, code=district).id if district else None
            )
            report = whatif.what_if(
                session,
                policy=alternative,
                first_day=context.day(first_day),
                last_day=context.day(last_day),
                district_id=district_id,
            )
    except DomainError as exc:
        context.fail(exc)
    if as_json:
        console.print_json(report.model_dump_json())
        return
    table = Table(
        title=f"{report.first_day} – {report.last_day}: what happened "
        f"({', '.join(report.actual_policy_versions)}) vs {report.policy_version}"
    )
    for column in ("district", "building", "residents", "happened", "what if"):
        table.add_column(column)
    for b in report.buildings:
        table.add_row(
            b.district_code,
            b.building_code,
            str(b.residents),
            _episodes(b.actual),
            _episodes(b.what_if),
        )
    console.print(table)
    totals = Table(title="totals")
    for column in ("", "locked", "lifted", "building-days", "person-days"):
        totals.add_column(column)
    for label, t in (("happened", report.actual), ("what if", report.what_if)):
        totals.add_row(
            label,
            str(t.areas_locked),
            str(t.areas_lifted),
            str(t.building_days),
            str(t.person_days),
        )
    console.print(totals)
    if report.screening == "unavailable":
        err_console.print(
            "[yellow]no screening results are available: under a policy that asks for "
            "negative screening no area is lifted in the what-if[/yellow]"
        )
