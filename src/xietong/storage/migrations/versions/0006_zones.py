"""zones: steps of a risk area's life, the countdown and lifting days, one open area per building

Revision ID: 0006_zones
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0006_zones"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_OPEN_SQL = "status IN ('proposed', 'active', 'lifting_proposed')"


def upgrade() -> None:
    op.create_table(
        "zones_risk_area_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["zones_risk_area.id"],
            name=op.f("fk_zones_risk_area_event_area_id_zones_risk_area"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_zones_risk_area_event_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones_risk_area_event")),
    )
    with op.batch_alter_table("zones_risk_area_event", schema=None) as batch_op:
        batch_op.create_index("ix_zones_risk_area_event_area_at", ["area_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_zones_risk_area_event_at"), ["at"], unique=False)

    with op.batch_alter_table("zones_risk_area", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), server_default="user", nullable=False)
        )
        batch_op.add_column(sa.Column("countdown_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("lifting_proposed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lifted_on", sa.Date(), nullable=True))
        batch_op.create_index(
            "uq_zones_risk_area_open_building",
            ["building_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN_SQL),
            postgresql_where=sa.text(_OPEN_SQL),
        )

    with op.batch_alter_table("zones_building_infection", schema=None) as batch_op:
        batch_op.create_index("ix_zones_building_infection_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("zones_building_infection", schema=None) as batch_op:
        batch_op.drop_index("ix_zones_building_infection_day")

    with op.batch_alter_table("zones_risk_area", schema=None) as batch_op:
        batch_op.drop_index("uq_zones_risk_area_open_building")
        batch_op.drop_column("lifted_on")
        batch_op.drop_column("lifting_proposed_by")
        batch_op.drop_column("countdown_from")
        batch_op.drop_column("origin")

    with op.batch_alter_table("zones_risk_area_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_risk_area_event_at"))
        batch_op.drop_index("ix_zones_risk_area_event_area_at")

    op.drop_table("zones_risk_area_event")
