"""analytics: daily aggregates per district and local day, refresh watermark, official counts

Revision ID: 0008_analytics
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0008_analytics"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_METRICS = (
    "swabs_sampled",
    "tubes_sampled",
    "tubes_resulted",
    "tubes_positive",
    "pooled_positives",
    "new_confirmed",
    "new_asymptomatic",
    "conversions",
    "found_under_control",
    "found_on_surface",
    "quarantine_occupancy",
    "referrals_opened",
    "referrals_closed",
    "referrals_overdue",
    "active_high_risk_areas",
)


def upgrade() -> None:
    op.create_table(
        "analytics_refresh_watermark",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("watermark", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cells_last_run", sa.Integer(), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_refresh_watermark")),
    )
    op.create_table(
        "analytics_daily_aggregate",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in _METRICS),
        sa.Column("refreshed_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_analytics_daily_aggregate_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("district_id", "day", name=op.f("pk_analytics_daily_aggregate")),
    )
    op.create_index(
        "ix_analytics_daily_aggregate_day", "analytics_daily_aggregate", ["day"], unique=False
    )
    op.create_table(
        "analytics_official_count",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("district_id", sa.Integer(), nullable=False),
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
            name=op.f("fk_analytics_official_count_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_official_count")),
        sa.UniqueConstraint(
            "district_id",
            "day",
            "until_minute",
            name=op.f("uq_analytics_official_count_district_id_day_until_minute"),
        ),
    )
    op.create_index(
        "ix_analytics_official_count_day", "analytics_official_count", ["day"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_official_count_day", table_name="analytics_official_count")
    op.drop_table("analytics_official_count")
    op.drop_index("ix_analytics_daily_aggregate_day", table_name="analytics_daily_aggregate")
    op.drop_table("analytics_daily_aggregate")
    op.drop_table("analytics_refresh_watermark")
