"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from xietong.models import metadata
from xietong.storage.migrate import current_revisions, head_revisions


def test_the_database_is_at_every_head_revision(engine: Engine) -> None:
    assert current_revisions(engine) == head_revisions()


# SQLite's reflection cannot read an index on an expression; the test below checks those.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
)
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata())
    assert differences == []


def test_the_expression_indexes_exist_as_the_models_write_them(engine: Engine) -> None:
    expected = {
        index.name: str(expression)
        for table in metadata().tables.values()
        for index in table.indexes
        for expression in index.expressions
        if not hasattr(expression, "table")
    }
    assert expected == {"ix_people_person_id_tail": "substr(id_masked, 15, 4)"}
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = dict(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
                ).all()
            )
        else:
            found = dict(
                connection.execute(text("SELECT indexname, indexdef FROM pg_indexes")).all()
            )

    def bare(sql: str) -> str:
        # PostgreSQL writes the expression back as `substr((id_masked)::text, 15, 4)`.
        return "".join(c for c in sql.replace("::text", "") if c not in " ()")

    for name, expression in expected.items():
        assert bare(expression) in bare(found[name])
