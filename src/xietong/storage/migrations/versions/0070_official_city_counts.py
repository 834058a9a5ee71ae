"""analytics: official city-wide counts, kept as published apart from the districts' figures

Revision ID: 0070_official_city_counts
Revises: 0008_analytics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0070_official_city_counts"
down_revision = "0008_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_official_city_count",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("until_minute", sa.Integer(), nullable=False),
        sa.Column("new_confirmed", sa.Integer(), nullable=False),
        sa.Column("new_asymptomatic", sa.Integer(), nullable=False),
        sa.Column("conversions", sa.Integer(), nullable=False),
        sa.Column("found_under_control", sa.Integer(), nullable=True),
        sa.Column("found_on_surface", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_official_city_count")),
        sa.UniqueConstraint(
            "day", "until_minute", name=op.f("uq_analytics_official_city_count_day_until_minute")
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_official_city_count")
