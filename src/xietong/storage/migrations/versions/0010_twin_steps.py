"""twin: the replay's steps done (day and stage), so that a stopped replay resumes

Revision ID: 0010_twin_steps
Revises: 0009_twin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0010_twin_steps"
down_revision = "0009_twin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "twin_step",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("simulated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["twin_run.id"], name=op.f("fk_twin_step_run_id_twin_run")
        ),
        sa.PrimaryKeyConstraint("run_id", "day", "stage", name=op.f("pk_twin_step")),
    )


def downgrade() -> None:
    op.drop_table("twin_step")
