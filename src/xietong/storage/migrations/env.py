"""Alembic environment: runs on the connection handed in by `xietong.storage.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from xietong.models import metadata

target_metadata = metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = context.config.attributes.get("engine") or create_engine(
        context.config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.begin() as conn:
        _run(conn)
