"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from xietong.models import metadata
from xietong.storage.migrate import current_revisions, head_revisions


def test_the_database_is_at_every_head_revision(engine: Engine) -> None:
    assert current_revisions(engine) == head_revisions()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata())
    assert differences == []
