"""screens: the rejects of a results delivery, the dashboard's form keys and seen marks

A delivery loaded without its bad rows keeps them (`screening_result_batch_rejects`) for the
laboratory to download; a form's key is claimed by its first submission so that a double click
acts once (`web_form_submission`); `web_seen_mark` holds when a user last opened a referral.

Revision ID: 0060_screens
Revises: 0011_screening_names
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xietong.storage.base import UTCDateTime

revision = "0060_screens"
down_revision = "0011_screening_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_result_batch_rejects",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["screening_result_batch.id"],
            name=op.f("fk_screening_result_batch_rejects_batch_id_screening_result_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_screening_result_batch_rejects")),
    )
    op.create_table(
        "web_form_submission",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_web_form_submission")),
    )
    op.create_index(
        op.f("ix_web_form_submission_submitted_at"), "web_form_submission", ["submitted_at"]
    )
    op.create_table(
        "web_seen_mark",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("username", "entity", "entity_id", name=op.f("pk_web_seen_mark")),
    )


def downgrade() -> None:
    op.drop_table("web_seen_mark")
    op.drop_index(op.f("ix_web_form_submission_submitted_at"), table_name="web_form_submission")
    op.drop_table("web_form_submission")
    op.drop_table("screening_result_batch_rejects")
