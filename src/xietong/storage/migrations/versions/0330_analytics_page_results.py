"""analytics: the results the pages read (trend, forecast, scenarios), kept by the refresh job

The forecast page's first view after each refresh of the daily series drew the transmission
model's scenarios and every district's forecast ensembles (about 2 s), in every process. The
refresh job now computes them and keeps them here under the series' fingerprint.

Revision ID: 0330_analytics_page_results
Revises: 0290_official_count_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0330_analytics_page_results"
down_revision = "0290_official_count_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_page_result",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("computed_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_analytics_page_result")),
    )
    op.create_index(
        "ix_analytics_page_result_kind_day",
        "analytics_page_result",
        ["kind", "last_day"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_page_result_kind_day", table_name="analytics_page_result")
    op.drop_table("analytics_page_result")
