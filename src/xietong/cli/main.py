"""`xietong`: serve the API, migrate, import areas and persons, manage users."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.auth.schemas import UserCreate
from xietong.cli import context
from xietong.cli import duplicates as duplicates_cli
from xietong.cli.context import console, err_console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM, Role
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector

app = typer.Typer(
    help="xietong: coordinated epidemic response across a city's districts.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
areas_app = typer.Typer(help="Districts, streets, communities and buildings.")
people_app = typer.Typer(help="Persons.", no_args_is_help=True)
users_app = typer.Typer(help="Users and tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(areas_app, name="areas")
app.add_typer(people_app, name="people")
people_app.add_typer(duplicates_cli.app, name="duplicates")
app.add_typer(users_app, name="users")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
    )


@contextmanager
def _file_import(file: Path) -> Iterator[tuple[Session, TextIO, Callable[[int], None]]]:
    """An import's unit of work, its file open for reading, and a progress bar fed with the
    rows read."""
    with (
        _progress() as progress,
        context.work() as session,
        file.open(encoding="utf-8-sig", newline="") as stream,
    ):
        task = progress.add_task(f"importing {file.name}", total=None)
        yield session, stream, lambda n: progress.update(task, completed=n)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int,
        typer.Option(help="Server processes sharing the port (PostgreSQL only past 1).", min=1),
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of a reverse proxy whose X-Forwarded-For/-Proto to trust "
            "(comma-separated; default: none)."
        ),
    ] = None,
) -> None:
    """Migrate the database, load the reference areas and serve the API."""
    import uvicorn

    from xietong.api.app import create_app, freeze_start_up
    from xietong.bootstrap import prepare_database

    settings = context.settings()
    engine = context.engine()
    if workers > 1 and engine.dialect.name != "postgresql":
        err_console.print(
            "[red]error[/red]: --workers above 1 needs PostgreSQL (XIETONG_DATABASE_URL); "
            "SQLite has one writer, served in arrival order by one process"
        )
        raise typer.Exit(code=2)
    prepare_database(engine)
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"xietong serving on [bold]http://{host}:{port}[/bold]  (database: "
        f"{engine.url.render_as_string(hide_password=True)}"
        f"{f', {workers} processes' if workers > 1 else ''})"
    )
    console.print(f"API documentation: http://{host}:{port}/api/docs")
    # Without a proxy named, X-Forwarded-* headers are not believed from anyone.
    proxied = forwarded_allow_ips is not None
    if workers == 1:
        application = create_app(settings, engine=engine, clock=context.clock())
        freeze_start_up()
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=proxied,
            forwarded_allow_ips=forwarded_allow_ips,
        )
        return
    engine.dispose()
    # Each process builds its own app (engine, clock, dispatcher, jobs) from the same environment.
    uvicorn.run(
        "xietong.api.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=proxied,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database schema to the newest version and load the reference areas."""
    from xietong.bootstrap import prepare_database
    from xietong.storage.migrate import current_revisions

    added = prepare_database(context.engine())
    console.print(
        f"schema at {', '.join(sorted(current_revisions(context.engine())))}; "
        f"{added} new reference districts"
    )


@areas_app.callback(invoke_without_command=True)
def areas_list(ctx: typer.Context) -> None:
    """List the reporting units with their population and the central-urban flag."""
    if ctx.invoked_subcommand is not None:
        return
    with context.work() as session:
        districts = areas_service.list_districts(session)
        table = Table(title=f"{len(districts)} reporting units")
        for column in ("code", "name", "english", "kind", "central", "population"):
            table.add_column(column, justify="right" if column == "population" else "left")
        for d in districts:
            table.add_row(
                d.code,
                d.name_hans,
                d.english,
                d.kind,
                "●" if d.central_urban else "",
                f"{d.population:,}" if d.population is not None else "—",
            )
        console.print(table)


@areas_app.command("import")
def areas_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with district_code, street_code, street_name, "
            "community_code, community_name, building_code, "
            "address_label[, kind, lon, lat]."
        ),
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
) -> None:
    """Import streets, communities and buildings of a real city from CSV."""
    try:
        with _file_import(file) as (session, stream, progress):
            report = areas_service.import_areas(
                session,
                stream=stream,
                load_valid=load_valid,
                rejects_path=rejects,
                progress=progress,
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@areas_app.command("generate")
def areas_generate(
    buildings: Annotated[int, typer.Option(help="Buildings per district.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Create synthetic streets, communities and buildings in every district (demos, tests)."""
    with context.work() as session:
        codes = [d.code for d in areas_service.list_districts(session)]
        added = areas_service.generate_synthetic_areas(
            session, buildings_per_district=dict.fromkeys(codes, buildings), seed=seed
        )
    console.print(f"{added} buildings added")


@people_app.command("import")
def people_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with national_id, name, phone, residence_building, current_building."
        ),
    ],
    load_valid: context.LoadValidOption = False,
    rejects: context.RejectsOption = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes that hash and encrypt (default: one per core).", min=1),
    ] = None,
) -> None:
    """Import persons from CSV: the whole file or nothing; re-importing changes nothing."""
    protector = PersonalDataProtector.from_settings(context.settings())
    try:
        with _file_import(file) as (session, stream, progress):
            report = people_service.import_persons(
                session,
                principal=SYSTEM,
                protector=protector,
                stream=stream,
                source_name=file.name,
                load_valid=load_valid,
                rejects_path=rejects,
                progress=progress,
                workers=workers,
            )
    except DomainError as exc:
        context.fail(exc)
    console.print_json(report.model_dump_json())


@people_app.command("retention")
def people_retention() -> None:
    """Pseudonymise the persons past the retention period (XIETONG_RETENTION_DAYS): name, phone,
    masked ID and birth date erased for anyone no case, contact, quarantine order or referral
    has named for that long."""
    from xietong.flows.retention import apply_retention

    settings = context.settings()
    with context.work() as session:
        report = apply_retention(
            session,
            protector=PersonalDataProtector.from_settings(settings),
            retention_days=settings.retention_days,
            now=context.now(),
        )
    console.print_json(report.model_dump_json())


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="Role.")] = Role.command,
    district: Annotated[str | None, typer.Option(help="District code; none for the city.")] = None,
    ask_password: Annotated[
        bool, typer.Option("--ask-password", help="Prompt for a dashboard password.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a dashboard password from stdin.")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the dashboard.")] = None,
) -> None:
    """Create a user (the first one: a command-centre user) and print its API token.

    A password is never taken from the command line (it would stay in the shell's history and
    the process list): ask for a prompt, or pipe it in.
    """
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif ask_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = context.settings()
    now = context.now()
    try:
        with context.work() as session:
            user = auth_service.create_user(
                session,
                user_in=UserCreate(
                    username=username,
                    role=role,
                    district_code=district,
                    password=password,
                    display_name=display_name,
                ),
                district_id=areas_service.district_id_of(session, code=district),
                now=now,
                production=settings.environment == "production",
            )
            token = auth_service.issue_token(
                session, user=user, now=now, expires_at=now + timedelta(days=settings.token_days)
            )
    except DomainError as exc:
        context.fail(exc)
    console.print(f"user [bold]{username}[/bold] ({role.value}, {district or 'city'}) created")
    console.print(f"API token (shown once): {token}")


_assembled: list[bool] = []


def build() -> typer.Typer:
    """The whole command line: the commands above plus each domain's group."""
    from xietong.cli import (
        analytics,
        auth,
        cases,
        interop,
        outbox,
        policy,
        referrals,
        reports,
        resources,
        screening,
        twin,
        zones,
    )

    if not _assembled:
        groups = (auth, policy, outbox, zones, screening, cases, referrals, resources, analytics)
        for group in (*groups, reports, twin):
            app.add_typer(group.app, name=group.__name__.rsplit(".", 1)[1])
        app.add_typer(interop.app, name=interop.GROUP_NAME)
        app.command()(twin.demo)
        _assembled.append(True)
    return app


def main() -> None:
    try:
        build()()
    except KeyboardInterrupt:
        sys.exit(130)
