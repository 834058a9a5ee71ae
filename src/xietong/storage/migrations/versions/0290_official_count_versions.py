"""analytics: a district's official figures as they stood before a corrected import replaced them

A corrected file replaced the earlier figures in place, so a backtest on official counts read
every forecast date's history as corrected later. The figures replaced are now kept with the
instant they were replaced, and the counts can be read as they stood at any date.

Revision ID: 0290_official_count_versions
Revises: 0070_official_city_counts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0290_official_count_versions"
down_revision = "0070_official_city_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_official_count_version",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_analytics_official_count_version_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_official_count_version")),
    )
    op.create_index(
        "ix_analytics_official_count_version_day",
        "analytics_official_count_version",
        ["day"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_analytics_official_count_version_day", table_name="analytics_official_count_version"
    )
    op.drop_table("analytics_official_count_version")
