"""interop: FHIR bulk export jobs

Revision ID: 0030_interop_export
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xietong.storage.base import UTCDateTime

revision = "0030_interop_export"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interop_export_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("transaction_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interop_export_job")),
    )
    op.create_index("ix_interop_export_job_status", "interop_export_job", ["status"])


def downgrade() -> None:
    op.drop_index("ix_interop_export_job_status", table_name="interop_export_job")
    op.drop_table("interop_export_job")
