"""`xietong demo` and `xietong twin`: the synthetic city and its outbreak replayed through the
real services into a database of its own, then the dashboard served on it."""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xietong.cli import context
from xietong.cli.context import console, err_console
from xietong.config import Settings, default_data_dir
from xietong.core.clock import FixedClock
from xietong.core.wallclock import RunningClock
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, session_factory
from xietong.storage.unit_of_work import unit_of_work
from xietong.twin.models import TwinRun, TwinStep
from xietong.twin.replay import HORIZON_DAYS, REPLAY_STARTS, START_DAY, day_closes, replay
from xietong.twin.users import DEMO_PASSWORD, DemoUser, ensure_demo_users

# Ready in about a minute on two cores (docs/twin.md has the measured figures).
DEFAULT_POPULATION = 100_000
DEFAULT_DAYS = 21  # 1-21 November 2022: the rise through the reference days to near the peak
DEFAULT_SEED = 2022

app = typer.Typer(help="The twin: a synthetic city and outbreak driving the real services.")


def demo_database_url(population: int, seed: int) -> str:
    """The demo's own SQLite file in the user data folder, never the user's real database."""
    return f"sqlite:///{default_data_dir() / f'demo-{population}-{seed}.sqlite'}"


def _bars() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def _other_run(session: Session, *, population: int, seed: int) -> TwinRun | None:
    return session.scalar(
        select(TwinRun).where((TwinRun.population != population) | (TwinRun.seed != seed))
    )


def build_and_replay(
    engine: Engine,
    settings: Settings,
    *,
    population: int,
    days: int,
    seed: int,
    progress: Progress | None = None,
    rejects_dir: Path | None = None,
    intensity: float = 1.0,
) -> tuple[int, list[DemoUser]]:
    """Migrate, build the city, replay the days and make sure the demo users exist (each part
    does only what is not done yet); return the run's id and the users. `intensity` multiplies
    the outbreak (small cities in tests)."""
    from xietong.bootstrap import prepare_database
    from xietong.twin.city import build_city

    factory = session_factory(engine)
    # The replay's time, not the wall's: what is built before the first day is stamped at its
    # start, what is added after the last at its close, so no record is later than the server
    # serving the replay (its clock starts at that close).
    clock = FixedClock(REPLAY_STARTS)

    def work() -> AbstractContextManager[Session]:
        return unit_of_work(factory, clock=clock)

    def task(description: str, total: float | None) -> Callable[..., None]:
        if progress is None:
            return lambda **_: None
        handle = progress.add_task(description, total=total)
        return lambda **fields: progress.update(handle, **fields)

    database = task("Database: schema and the 41 reporting units", 1)
    prepare_database(engine)
    database(completed=1)
    protector = PersonalDataProtector.from_settings(settings)
    with work() as session:
        other = _other_run(session, population=population, seed=seed)
        if other is not None:
            raise typer.BadParameter(
                f"this database holds the twin of seed {other.seed} and population "
                f"{other.population:,}; give the same --seed and --population, or another "
                "--database-url",
                param_hint="--database-url",
            )
    city = task(f"City: {population:,} persons", 100)
    with work() as session:
        built = build_city(
            session,
            protector=protector,
            population=population,
            seed=seed,
            progress=lambda stage, share: city(
                description=f"City: {population:,} persons ({stage})", completed=100 * share
            ),
        )
    city(description=f"City: {population:,} persons", completed=100)
    last = START_DAY + timedelta(days=days - 1)
    outbreak = task(f"Outbreak: replaying {START_DAY:%d %b} – {last:%d %b %Y}", None)
    replay(
        work,
        run_id=built.run_id,
        days=days,
        protector=protector,
        tz=settings.timezone,
        rejects_dir=rejects_dir,
        intensity=intensity,
        progress=lambda label, n, total: outbreak(
            description=f"Outbreak: replaying {START_DAY:%d %b} – {last:%d %b %Y} ({label})",
            completed=n,
            total=total,
        ),
    )
    clock.set(day_closes(last, settings.timezone))
    with work() as session:
        users = ensure_demo_users(session)
    return built.run_id, users


def _users_table(users: list[DemoUser]) -> Table:
    table = Table(title=f"Demo users (password for all: {DEMO_PASSWORD})", title_justify="left")
    table.add_column("district")
    table.add_column("name")
    table.add_column("district coordinator")
    table.add_column("field worker")
    city = [u for u in users if u.district_code is None]
    table.add_row(
        "city",
        "市指挥部 command centre",
        ", ".join(f"{u.username} ({u.role.value})" for u in city),
        "",
    )
    by_district: dict[str, dict[str, DemoUser]] = {}
    for user in users:
        if user.district_code is not None:
            by_district.setdefault(user.district_code, {})[user.role.value] = user
    for code in sorted(by_district):
        roles = by_district[code]
        coordinator, worker = roles["district_coordinator"], roles["field_worker"]
        table.add_row(code, coordinator.district_name or "", coordinator.username, worker.username)
    return table


def _summary(engine: Engine, run_id: int) -> Table:
    from xietong.cases.models import Case
    from xietong.referrals.models import Referral
    from xietong.screening.models import Tube
    from xietong.twin.models import TwinInfection
    from xietong.zones.models import RiskArea

    with session_factory(engine)() as session:
        run = session.get(TwinRun, run_id)
        assert run is not None
        rows = [
            ("persons", run.population),
            ("infections simulated", session.scalar(select(func.count(TwinInfection.person_id)))),
            ("tubes sampled", session.scalar(select(func.count(Tube.id)))),
            ("cases reported", session.scalar(select(func.count(Case.id)))),
            ("referrals between districts", session.scalar(select(func.count(Referral.id)))),
            ("high-risk areas", session.scalar(select(func.count(RiskArea.id)))),
            ("days replayed", run.days_replayed),
        ]
    table = Table(title="The replayed outbreak", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in rows:
        table.add_row(what, f"{count or 0:,}")
    return table


def _serve(engine: Engine, settings: Settings, *, host: str, port: int, as_of: datetime) -> None:
    """`xietong serve` on the demo database, its clock set to the replay's last step: the
    dashboard, the API, the outbox dispatcher and the escalation job see the outbreak's time."""
    import uvicorn

    from xietong.api.app import create_app

    application = create_app(settings, engine=engine, clock=RunningClock(as_of))
    gc.collect()
    gc.freeze()  # what start-up built lives as long as the server (see `xietong serve`)
    uvicorn.run(application, host=host, port=port, log_level="warning")


def demo(
    population: Annotated[
        int, typer.Option(min=1_000, help="Persons in the synthetic city (whole municipality).")
    ] = DEFAULT_POPULATION,
    days: Annotated[
        int,
        typer.Option(min=1, max=HORIZON_DAYS, help="Days of November 2022 to replay from the 1st."),
    ] = DEFAULT_DAYS,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of the city and the outbreak.")] = (
        DEFAULT_SEED
    ),
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Database for the demo; default: its own SQLite file in the user data folder."
        ),
    ] = None,
    serve: Annotated[
        bool, typer.Option(help="Serve the dashboard when the replay is done (--no-serve: stop).")
    ] = True,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Build a synthetic city, replay an outbreak through every service, serve the dashboard.

    Running it again with the same options adds nothing (a stopped run resumes).
    """
    base = context.settings()
    if base.environment == "production":
        err_console.print(
            "[red]error[/red]: the demo publishes its users' password; not in production"
        )
        raise typer.Exit(code=2)
    url = database_url or demo_database_url(population, seed)
    settings = base.model_copy(update={"database_url": url})
    engine = build_engine(url, echo=settings.sql_echo)
    rejects = default_data_dir() / "demo-rejects" if database_url is None else None
    try:
        with _bars() as bars:
            run_id, users = build_and_replay(
                engine,
                settings,
                population=population,
                days=days,
                seed=seed,
                progress=bars,
                rejects_dir=rejects,
            )
        console.print(_summary(engine, run_id))
        console.print(_users_table(users))
        last = START_DAY + timedelta(days=days - 1)
        host = host or settings.host
        port = port or settings.port
        where = engine.url.render_as_string(hide_password=True)
        console.print(f"database: {where}")
        if not serve:
            return
        console.print(
            f"dashboard: [bold]http://{host}:{port}/overview[/bold]  "
            f"(log in as command / {DEMO_PASSWORD}; API documentation: http://{host}:{port}/api/docs)"
        )
        # From the replay's last step on: no record it wrote is later than the server's now.
        closing = day_closes(last, settings.timezone)
        console.print(f"the server's clock runs from {closing:%Y-%m-%d %H:%M %Z}")
        _serve(engine, settings, host=host, port=port, as_of=closing)
    finally:
        engine.dispose()


@app.command("status")
def status(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database to look at; default: the demo's, at its default size."),
    ] = None,
) -> None:
    """The twin runs in a database and how far each was replayed."""
    engine = build_engine(database_url or demo_database_url(DEFAULT_POPULATION, DEFAULT_SEED))
    try:
        with session_factory(engine)() as session:
            table = Table(title="twin runs")
            for column in ("run", "seed", "population", "days replayed", "last day", "steps"):
                table.add_column(column)
            for run in session.scalars(select(TwinRun).order_by(TwinRun.id)):
                steps = session.scalar(
                    select(func.count()).select_from(TwinStep).where(TwinStep.run_id == run.id)
                )
                table.add_row(
                    str(run.id),
                    str(run.seed),
                    f"{run.population:,}",
                    str(run.days_replayed),
                    run.last_day.isoformat() if run.last_day else "—",
                    str(steps),
                )
        console.print(table)
    finally:
        engine.dispose()
