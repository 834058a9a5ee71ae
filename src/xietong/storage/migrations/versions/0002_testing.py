"""testing: sites, tubes and memberships, lab results, conflicts, holds, tasks, plans

Revision ID: 0002_testing
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0002_testing"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "testing_case_candidate",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("lab_result_id", sa.BigInteger(), nullable=False),
        sa.Column("sampled_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sampling_district_id", sa.Integer(), nullable=False),
        sa.Column("sampling_building_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_case_candidate")),
        sa.UniqueConstraint(
            "person_id", "tube_id", name=op.f("uq_testing_case_candidate_person_id_tube_id")
        ),
    )
    op.create_index(
        "ix_testing_case_candidate_consumed_at",
        "testing_case_candidate",
        ["consumed_at"],
        unique=False,
    )
    op.create_table(
        "testing_hold",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("held_from", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=24), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_hold")),
        sa.UniqueConstraint("person_id", "tube_id", name=op.f("uq_testing_hold_person_id_tube_id")),
    )
    op.create_index(
        "ix_testing_hold_district_released",
        "testing_hold",
        ["district_id", "released_at"],
        unique=False,
    )
    op.create_table(
        "testing_lab_result",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("ct_value", sa.Float(), nullable=True),
        sa.Column("lab_code", sa.String(length=40), nullable=False),
        sa.Column("reported_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_lab_result")),
        sa.UniqueConstraint("tube_id", name=op.f("uq_testing_lab_result_tube_id")),
    )
    op.create_index(
        "ix_testing_lab_result_updated_at", "testing_lab_result", ["updated_at"], unique=False
    )
    op.create_table(
        "testing_membership",
        sa.Column("round_day", sa.Date(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "round_day", "person_id", "tube_id", name=op.f("pk_testing_membership")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_testing_membership_tube",
        "testing_membership",
        ["tube_id"],
        unique=False,
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 16},
    )
    op.create_table(
        "testing_plan",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("high_risk_buildings", sa.Integer(), nullable=False),
        sa.Column("issued_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_testing_plan")),
    )
    op.create_table(
        "testing_referral_need",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=False),
        sa.Column("to_district_id", sa.Integer(), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_referral_need")),
        sa.UniqueConstraint(
            "person_id",
            "tube_id",
            "reason",
            name=op.f("uq_testing_referral_need_person_id_tube_id_reason"),
        ),
    )
    op.create_index(
        "ix_testing_referral_need_opened_at", "testing_referral_need", ["opened_at"], unique=False
    )
    op.create_table(
        "testing_resample_task",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("replacement_tube_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_resample_task")),
        sa.UniqueConstraint("tube_id", name=op.f("uq_testing_resample_task_tube_id")),
    )
    op.create_index(
        "ix_testing_resample_task_district_status",
        "testing_resample_task",
        ["district_id", "status"],
        unique=False,
    )
    op.create_table(
        "testing_result_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_result_batch")),
    )
    op.create_index(
        op.f("ix_testing_result_batch_received_at"),
        "testing_result_batch",
        ["received_at"],
        unique=False,
    )
    op.create_table(
        "testing_result_conflict",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("ct_value", sa.Float(), nullable=True),
        sa.Column("lab_code", sa.String(length=40), nullable=False),
        sa.Column("reported_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_result_conflict")),
        sa.UniqueConstraint(
            "tube_id", "fingerprint", name=op.f("uq_testing_result_conflict_tube_id_fingerprint")
        ),
    )
    op.create_index(
        "ix_testing_result_conflict_created_at",
        "testing_result_conflict",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        "ix_testing_result_conflict_status_district",
        "testing_result_conflict",
        ["status", "district_id"],
        unique=False,
    )
    op.create_table(
        "testing_retest_task",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("source_tube_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("retest_tube_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_retest_task")),
        sa.UniqueConstraint(
            "person_id",
            "source_tube_id",
            name=op.f("uq_testing_retest_task_person_id_source_tube_id"),
        ),
    )
    op.create_index(
        "ix_testing_retest_task_district_status",
        "testing_retest_task",
        ["district_id", "status"],
        unique=False,
    )
    op.create_table(
        "testing_tube",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("pool_size", sa.SmallInteger(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("collected_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("round_day", sa.Date(), nullable=False),
        sa.Column("replaces_tube_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_tube")),
        sa.UniqueConstraint("code", name=op.f("uq_testing_tube_code")),
    )
    op.create_index("ix_testing_tube_created_at", "testing_tube", ["created_at"], unique=False)
    op.create_index(
        "ix_testing_tube_district_round", "testing_tube", ["district_id", "round_day"], unique=False
    )
    op.create_table(
        "testing_planned_building",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("every_days", sa.SmallInteger(), nullable=False),
        sa.Column("pool_size", sa.SmallInteger(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day"], ["testing_plan.day"], name=op.f("fk_testing_planned_building_day_testing_plan")
        ),
        sa.PrimaryKeyConstraint("day", "building_id", name=op.f("pk_testing_planned_building")),
    )
    op.create_index(
        "ix_testing_planned_building_day_district",
        "testing_planned_building",
        ["day", "district_id"],
        unique=False,
    )
    op.create_table(
        "testing_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column(
            "building_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["areas_building.id"],
            name=op.f("fk_testing_site_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_testing_site_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_site")),
        sa.UniqueConstraint("code", name=op.f("uq_testing_site_code")),
    )
    op.create_index(
        op.f("ix_testing_site_district_id"), "testing_site", ["district_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_testing_planned_building_day_district", table_name="testing_planned_building")
    op.drop_table("testing_planned_building")
    op.drop_table("testing_site")
    op.drop_index("ix_testing_tube_created_at", table_name="testing_tube")
    op.drop_index("ix_testing_tube_district_round", table_name="testing_tube")
    op.drop_table("testing_tube")
    op.drop_index("ix_testing_retest_task_district_status", table_name="testing_retest_task")
    op.drop_table("testing_retest_task")
    op.drop_index("ix_testing_result_conflict_created_at", table_name="testing_result_conflict")
    op.drop_index(
        "ix_testing_result_conflict_status_district", table_name="testing_result_conflict"
    )
    op.drop_table("testing_result_conflict")
    op.drop_table("testing_result_batch")
    op.drop_index("ix_testing_resample_task_district_status", table_name="testing_resample_task")
    op.drop_table("testing_resample_task")
    op.drop_index("ix_testing_referral_need_opened_at", table_name="testing_referral_need")
    op.drop_table("testing_referral_need")
    op.drop_table("testing_plan")
    op.drop_index("ix_testing_membership_tube", table_name="testing_membership")
    op.drop_table("testing_membership")
    op.drop_index("ix_testing_lab_result_updated_at", table_name="testing_lab_result")
    op.drop_table("testing_lab_result")
    op.drop_index("ix_testing_hold_district_released", table_name="testing_hold")
    op.drop_table("testing_hold")
    op.drop_index("ix_testing_case_candidate_consumed_at", table_name="testing_case_candidate")
    op.drop_table("testing_case_candidate")
