"""The application factory: nothing happens at import; `create_app(settings)` builds everything."""

from __future__ import annotations

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
from xietong.api.routers import ROUTERS
from xietong.config import Settings
from xietong.core.clock import Clock
from xietong.core.wallclock import SystemClock
from xietong.outbox.runtime import start_workers
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, session_factory


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the API for one deployment (the engine may be shared, e.g. by tests).

    `clock` is the process's one clock (the wall's by default; a replaying server passes a
    `RunningClock`): routes, pages, the outbox, escalation and the analytics refresh read it.
    """
    clock = clock or SystemClock()
    engine = engine or build_engine(settings.database_url, echo=settings.sql_echo)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The outbox dispatcher and the periodic jobs live as long as the server.
        workers = start_workers(app, jobs=periodic_jobs()) if settings.run_workers else None
        try:
            yield
        finally:
            if workers is not None:
                workers.stop()

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
