"""auth: when a user's password changed and the user was deactivated; refused logins counted
per account and per address in the database (shared by every server process)

Revision ID: 0040_accounts
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0040_accounts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auth_user") as batch:
        batch.add_column(
            sa.Column(
                "password_changed_at",
                xietong.storage.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "deactivated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "auth_login_failure",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_login_failure")),
    )
    op.create_index("ix_auth_login_failure_key_at", "auth_login_failure", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_auth_login_failure_key_at", table_name="auth_login_failure")
    op.drop_table("auth_login_failure")
    with op.batch_alter_table("auth_user") as batch:
        batch.drop_column("deactivated_at")
        batch.drop_column("password_changed_at")
