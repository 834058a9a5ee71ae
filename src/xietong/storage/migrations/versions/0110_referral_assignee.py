"""referrals: the field worker a referral is assigned to

The receiving district gives a referral to one of its field workers; the referral keeps the
username and when, and a worker's own list ("mine") is one indexed filter. Notes on a referral
are events of its log and need no table of their own.

Revision ID: 0110_referral_assignee
Revises: 0005_referrals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xietong.storage.base import UTCDateTime

revision = "0110_referral_assignee"
down_revision = "0005_referrals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals_referral") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_referrals_referral_assignee", "referrals_referral", ["assignee"])


def downgrade() -> None:
    op.drop_index("ix_referrals_referral_assignee", table_name="referrals_referral")
    with op.batch_alter_table("referrals_referral") as batch:
        batch.drop_column("assigned_at")
        batch.drop_column("assignee")
