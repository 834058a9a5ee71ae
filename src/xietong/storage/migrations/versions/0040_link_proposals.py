"""cases: links proposed between a district's case and a case it may not see, which the other
case's district confirms or rejects

Revision ID: 0040_link_proposals
Revises: 0003_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0040_link_proposals"
down_revision = "0003_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases_link_proposal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_case_id", sa.BigInteger(), nullable=False),
        sa.Column("target_case_id", sa.BigInteger(), nullable=False),
        sa.Column("evidence_kind", sa.String(length=24), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=True),
        sa.Column("to_district_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_link_proposal_from_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["to_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_link_proposal_to_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_link_proposal")),
    )
    op.create_index(
        "ix_cases_link_proposal_to_status", "cases_link_proposal", ["to_district_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_link_proposal_to_status", table_name="cases_link_proposal")
    op.drop_table("cases_link_proposal")
