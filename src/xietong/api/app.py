"""The application factory: nothing happens at import; `create_app(settings)` builds everything."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, text

from xietong import __version__
from xietong.api.errors import install_error_handlers
from xietong.config import Settings
from xietong.domains import domain_modules
from xietong.people.protection import PersonalDataProtector
from xietong.storage.engine import build_engine, session_factory


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """Build the API for one deployment (the engine may be shared, e.g. by tests)."""
    engine = engine or build_engine(settings.database_url, echo=settings.sql_echo)
    app = FastAPI(
        title="xietong",
        version=__version__,
        description="Coordinated epidemic response across a city's districts.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.protector = PersonalDataProtector.from_settings(settings)
    install_error_handlers(app)

    @app.get("/health", tags=["health"], summary="Liveness and database reachability")
    def health() -> dict[str, Any]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}

    for module in domain_modules("router"):
        app.include_router(module.router)
    return app
