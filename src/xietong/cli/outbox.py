"""`xietong outbox`: the state of deliveries, dead letters, and a dispatcher without the API."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from xietong.api.jobs import periodic_jobs
from xietong.cli import context
from xietong.cli.context import console
from xietong.core.principal import SYSTEM
from xietong.outbox import service
from xietong.outbox.broadcast import Broadcaster
from xietong.outbox.runtime import Workers
from xietong.people.protection import PersonalDataProtector

app = typer.Typer(help="The outbox: deliveries, dead letters, dispatcher.", no_args_is_help=True)


@app.command("summary")
def summary() -> None:
    """Messages and deliveries by status, and the oldest pending delivery."""
    with context.work() as session:
        console.print_json(service.summary(session, principal=SYSTEM).model_dump_json())


@app.command("dead")
def dead(limit: Annotated[int, typer.Option(help="Rows to show.")] = 50) -> None:
    """List the dead letters (deliveries that ran out of attempts)."""
    with context.work() as session:
        items, total = service.list_deliveries(
            session, principal=SYSTEM, status=service.DEAD, limit=limit
        )
    console.print(f"{total} dead letters")
    for d in items:
        console.print(f"{d.id:>8}  {d.topic:<24} {d.endpoint_url}  {d.attempts}×  {d.last_error}")


@app.command("retry")
def retry(delivery_id: int) -> None:
    """Queue a dead letter again with a fresh set of attempts."""
    with context.work() as session:
        read = service.retry_dead(
            session, principal=SYSTEM, delivery_id=delivery_id, now=context.now()
        )
    console.print(f"delivery {read.id}: {read.status}")


@app.command("run")
def run() -> None:
    """Run the dispatcher and the periodic jobs in the foreground (servers with run_workers off)."""
    settings = context.settings()
    workers = Workers(
        engine=context.engine(),
        settings=settings,
        broadcaster=Broadcaster(),
        protector=PersonalDataProtector.from_settings(settings),
        clock=context.clock(),
        jobs=periodic_jobs(),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    workers.start()
    console.print("outbox dispatcher running; Ctrl-C to stop")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        workers.stop()
