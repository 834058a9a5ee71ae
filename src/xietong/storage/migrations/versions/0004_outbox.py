"""outbox: messages, webhook endpoints per district, deliveries with their retry schedule

Revision ID: 0004_outbox
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0004_outbox"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> xietong.storage.base.UTCDateTime:
    return xietong.storage.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    op.create_index("ix_outbox_message_created_at", "outbox_message", ["created_at"])
    op.create_index("ix_outbox_message_status", "outbox_message", ["status"])

    op.create_table(
        "outbox_webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_outbox_webhook_endpoint_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_webhook_endpoint")),
    )
    op.create_index(
        op.f("ix_outbox_webhook_endpoint_district_id"), "outbox_webhook_endpoint", ["district_id"]
    )

    op.create_table(
        "outbox_delivery",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("message_id", _BIGINT, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("leased_until", _utc(), nullable=True),
        sa.Column("last_attempt_at", _utc(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["outbox_webhook_endpoint.id"],
            name=op.f("fk_outbox_delivery_endpoint_id_outbox_webhook_endpoint"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
            name=op.f("fk_outbox_delivery_message_id_outbox_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_delivery")),
        sa.UniqueConstraint(
            "message_id", "endpoint_id", name=op.f("uq_outbox_delivery_message_id_endpoint_id")
        ),
    )
    op.create_index("ix_outbox_delivery_due", "outbox_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_delivery_endpoint", "outbox_delivery", ["endpoint_id", "status"])


def downgrade() -> None:
    op.drop_table("outbox_delivery")
    op.drop_table("outbox_webhook_endpoint")
    op.drop_table("outbox_message")
