"""referrals: the referral (one per person and cause), its chain of hand-offs, its event log

Revision ID: 0005_referrals
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0005_referrals"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> xietong.storage.base.UTCDateTime:
    return xietong.storage.base.UTCDateTime(timezone=True)


def _district_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["areas_district.id"], name=op.f(f"fk_{table}_{column}_areas_district")
    )


def upgrade() -> None:
    op.create_table(
        "referrals_referral",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("person_id", _BIGINT, nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("evidence", sa.String(length=160), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=False),
        sa.Column("to_district_id", sa.Integer(), nullable=False),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("pushed_at", _utc(), nullable=False),
        sa.Column("acknowledge_due_at", _utc(), nullable=False),
        sa.Column("control_due_at", _utc(), nullable=False),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.Column("located_at", _utc(), nullable=True),
        sa.Column("controlled_at", _utc(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("declined_at", _utc(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("overdue_at", _utc(), nullable=True),
        sa.Column("escalated_at", _utc(), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        _district_fk("referrals_referral", "from_district_id"),
        _district_fk("referrals_referral", "to_district_id"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people_person.id"],
            name=op.f("fk_referrals_referral_person_id_people_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals_referral")),
        sa.UniqueConstraint(
            "person_id",
            "reason",
            "evidence",
            name=op.f("uq_referrals_referral_person_id_reason_evidence"),
        ),
    )
    op.create_index(
        "ix_referrals_referral_to_status", "referrals_referral", ["to_district_id", "status"]
    )
    op.create_index(
        "ix_referrals_referral_from_status", "referrals_referral", ["from_district_id", "status"]
    )
    op.create_index(
        "ix_referrals_referral_control_due", "referrals_referral", ["status", "control_due_at"]
    )
    op.create_index("ix_referrals_referral_updated_at", "referrals_referral", ["updated_at"])

    op.create_table(
        "referrals_handoff",
        sa.Column("referral_id", _BIGINT, nullable=False),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=True),
        sa.Column("to_district_id", sa.Integer(), nullable=False),
        sa.Column("pushed_at", _utc(), nullable=False),
        sa.Column("pushed_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("ended_how", sa.String(length=16), nullable=True),
        _district_fk("referrals_handoff", "from_district_id"),
        _district_fk("referrals_handoff", "to_district_id"),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals_referral.id"],
            name=op.f("fk_referrals_handoff_referral_id_referrals_referral"),
        ),
        sa.PrimaryKeyConstraint("referral_id", "hop", name=op.f("pk_referrals_handoff")),
    )
    op.create_index(
        "ix_referrals_handoff_to_district", "referrals_handoff", ["to_district_id", "pushed_at"]
    )
    op.create_index("ix_referrals_handoff_pushed_at", "referrals_handoff", ["pushed_at"])

    op.create_table(
        "referrals_event",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("referral_id", _BIGINT, nullable=False),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_district_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        _district_fk("referrals_event", "district_id"),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals_referral.id"],
            name=op.f("fk_referrals_event_referral_id_referrals_referral"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals_event")),
    )
    op.create_index("ix_referrals_event_referral", "referrals_event", ["referral_id", "id"])
    op.create_index("ix_referrals_event_at", "referrals_event", ["at"])


def downgrade() -> None:
    op.drop_table("referrals_event")
    op.drop_table("referrals_handoff")
    op.drop_table("referrals_referral")
