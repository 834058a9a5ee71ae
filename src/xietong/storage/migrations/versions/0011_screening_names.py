"""screening: the domain's tables, indexes and constraints named `screening_*` (were `testing_*`)

The domain is called by the users' word for it (核酸筛查, screening); its tables follow. On
PostgreSQL every rename is a catalogue change. On SQLite tables and indexes are renamed in place;
a named unique constraint lives in the table's own definition, so the tables that have one are
rebuilt with the new name (foreign-key and primary-key names are not compared and stay).

Revision ID: 0011_screening_names
Revises: 0002_testing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_screening_names"
down_revision = "0002_testing"
branch_labels = None
depends_on = None

TABLES = (
    "site",
    "tube",
    "membership",
    "result_batch",
    "lab_result",
    "result_conflict",
    "hold",
    "retest_task",
    "resample_task",
    "case_candidate",
    "referral_need",
    "plan",
    "planned_building",
)


def upgrade() -> None:
    _rename("testing_", "screening_")


def downgrade() -> None:
    _rename("screening_", "testing_")


def _rename(old: str, new: str) -> None:
    bind = op.get_bind()
    for table in TABLES:
        op.rename_table(f"{old}{table}", f"{new}{table}")
    if bind.dialect.name == "postgresql":
        _rename_postgresql(bind, old, new)
    else:
        _rename_sqlite(bind, old, new)


def _rename_postgresql(bind: sa.Connection, old: str, new: str) -> None:
    tables = [f"{new}{table}" for table in TABLES]
    constraints = bind.execute(
        sa.text(
            "SELECT c.conname, r.relname FROM pg_constraint c "
            "JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE r.relname = ANY(:tables) AND position(:old IN c.conname) > 0"
        ),
        {"tables": tables, "old": old},
    ).all()
    for name, table in constraints:
        op.execute(
            f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}" TO "{name.replace(old, new)}"'
        )
    # Indexes not backing a constraint (those were renamed with it), and the id sequences.
    relations = bind.execute(
        sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('i', 'S') "
            "AND position(:old IN c.relname) > 0"
        ),
        {"old": old},
    ).all()
    for name, kind in relations:
        what = "INDEX" if kind == "i" else "SEQUENCE"
        op.execute(f'ALTER {what} "{name}" RENAME TO "{name.replace(old, new)}"')


def _rename_sqlite(bind: sa.Connection, old: str, new: str) -> None:
    inspector = sa.inspect(bind)
    for table in TABLES:
        name = f"{new}{table}"
        for index in inspector.get_indexes(name):
            if index["name"] and old in index["name"]:
                op.drop_index(index["name"], table_name=name)
                op.create_index(
                    index["name"].replace(old, new),
                    name,
                    [c for c in index["column_names"] if c is not None],
                    unique=bool(index["unique"]),
                )
        uniques = [u for u in inspector.get_unique_constraints(name) if old in (u["name"] or "")]
        if uniques:
            with op.batch_alter_table(name, recreate="always") as batch:
                for unique in uniques:
                    assert unique["name"] is not None
                    batch.drop_constraint(unique["name"], type_="unique")
                    batch.create_unique_constraint(
                        unique["name"].replace(old, new), unique["column_names"]
                    )
