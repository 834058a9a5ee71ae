"""The application factory: nothing happens at import; `create_app(settings)` builds everything."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from xietong import __version__
from xietong.api.docs import install_docs
from xietong.api.errors import install_error_handlers
from xietong.api.guards import guard_input
from xietong.api.jobs import periodic_jobs
from xietong.api.limits import BodyLimit, SecurityHeaders
from xietong.api.openapi import document_errors
from xietong.api.replica import install_read_your_writes
from xietong.api.routers import ROUTERS
from xietong.config import Settings, get_settings
from xietong.core.clock import Clock
from xietong.core.wallclock import SystemClock
from xietong.outbox.runtime import start_workers
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, read_only, session_factory
from xietong.storage.replica import ReadRouting


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the API for one deployment (the engine may be shared, e.g. by tests).

    `clock` is the process's one clock (the wall's by default; a replaying server passes a
    `RunningClock`): routes, pages, the outbox, escalation and the analytics refresh read it.
    """
    clock = clock or SystemClock()
    engine = engine or build_engine(settings.database_url, echo=settings.sql_echo)
    routing = (
        ReadRouting.for_urls(
            primary=engine,
            replica_url=settings.read_replica_url,
            max_lag_bytes=settings.read_replica_max_lag_bytes,
        )
        if settings.read_replica_url
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The outbox dispatcher and the periodic jobs live as long as the server.
        workers = start_workers(app, jobs=periodic_jobs()) if settings.run_workers else None
        try:
            yield
        finally:
            if workers is not None:
                workers.stop()
            if routing is not None:
                routing.dispose()

    app = FastAPI(
        lifespan=lifespan,
        dependencies=[Depends(guard_input)],
        title="xietong",
        version=__version__,
        description="Coordinated epidemic response across a city's districts.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    # The dashboards' and lists' reads (`ReadSessionDep`): on the replica when it can answer right.
    app.state.read_session_factory = session_factory(read_only(engine))
    app.state.read_routing = routing
    if routing is not None:
        app.state.read_session_factories = {
            "primary": app.state.read_session_factory,
            "replica": session_factory(read_only(routing.replica, replica=True)),
        }
        install_read_your_writes(app)
    app.state.protector = PersonalDataProtector.from_settings(settings)
    install_error_handlers(app)
    install_docs(app, behind_login=settings.environment == "production")
    app.add_middleware(
        BodyLimit, json_bytes=settings.max_json_bytes, file_bytes=settings.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["health"], summary="Liveness and database reachability")
    def health() -> dict[str, Any]:
        # A bare DB-API round trip: no transaction, so a busy writer never delays the answer.
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            raw.close()
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}

    for router in ROUTERS:
        app.include_router(router)
    document_errors(app)
    return app


def create_app_from_environment() -> FastAPI:
    """The factory each process of `xietong serve --workers N` calls: settings from `XIETONG_*`,
    and the process's one clock, the wall's."""
    app = create_app(get_settings(), clock=SystemClock())
    freeze_start_up()
    return app


def freeze_start_up() -> None:
    """Move what start-up built (modules, routes, the areas) out of the collector's sight: it
    lives as long as the process, and a full collection during a request then scans only what
    requests made (one request in twenty paid 250-650 ms for it at ten million persons)."""
    gc.collect()
    gc.freeze()
