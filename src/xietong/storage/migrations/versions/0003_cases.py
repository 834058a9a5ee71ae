"""cases: cases and their places, clusters, transmission links, close contacts, quarantine orders
and the referral needs of contacts living in another district

Revision ID: 0003_cases
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0003_cases"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases_cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "building_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("place_kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_case_day", sa.Date(), nullable=False),
        sa.Column("last_case_day", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_cluster_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_cluster_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_cluster")),
    )
    op.create_index("ix_cases_cluster_building", "cases_cluster", ["building_id"], unique=False)
    op.create_index(
        "ix_cases_cluster_district_status", "cases_cluster", ["district_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_cases_cluster_updated_at"), "cases_cluster", ["updated_at"], unique=False
    )
    op.create_table(
        "cases_case",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("initial_classification", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("detected_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report_day", sa.Date(), nullable=False),
        sa.Column("onset_day", sa.Date(), nullable=True),
        sa.Column("report_district_id", sa.Integer(), nullable=False),
        sa.Column("residence_district_id", sa.Integer(), nullable=False),
        sa.Column(
            "residence_building_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "found_building_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("found_under_control", sa.Boolean(), nullable=False),
        sa.Column("control_reason", sa.String(length=24), nullable=True),
        sa.Column("control_order_id", sa.Integer(), nullable=True),
        sa.Column("converted_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("conversion_day", sa.Date(), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["found_building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_case_found_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people_person.id"], name=op.f("fk_cases_case_person_id_people_person")
        ),
        sa.ForeignKeyConstraint(
            ["report_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_case_report_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_case_residence_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_case_residence_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_case")),
        sa.UniqueConstraint("candidate_id", name=op.f("uq_cases_case_candidate_id")),
        sa.UniqueConstraint("person_id", name=op.f("uq_cases_case_person_id")),
    )
    op.create_index("ix_cases_case_conversion_day", "cases_case", ["conversion_day"], unique=False)
    op.create_index(op.f("ix_cases_case_created_at"), "cases_case", ["created_at"], unique=False)
    op.create_index(
        "ix_cases_case_report_district_day",
        "cases_case",
        ["report_district_id", "report_day"],
        unique=False,
    )
    op.create_index(
        "ix_cases_case_residence_district", "cases_case", ["residence_district_id"], unique=False
    )
    op.create_index(op.f("ix_cases_case_updated_at"), "cases_case", ["updated_at"], unique=False)
    op.create_table(
        "cases_close_contact",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("residence_district_id", sa.Integer(), nullable=False),
        sa.Column(
            "residence_building_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("tracing_district_id", sa.Integer(), nullable=False),
        sa.Column("exposure_kind", sa.String(length=16), nullable=False),
        sa.Column(
            "exposure_building_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "last_exposure_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("identified_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases_case.id"], name=op.f("fk_cases_close_contact_case_id_cases_case")
        ),
        sa.ForeignKeyConstraint(
            ["exposure_building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_close_contact_exposure_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people_person.id"],
            name=op.f("fk_cases_close_contact_person_id_people_person"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_close_contact_residence_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_close_contact_residence_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["tracing_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_close_contact_tracing_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_close_contact")),
        sa.UniqueConstraint(
            "case_id", "person_id", name=op.f("uq_cases_close_contact_case_id_person_id")
        ),
    )
    op.create_index(
        "ix_cases_close_contact_person", "cases_close_contact", ["person_id"], unique=False
    )
    op.create_index(
        "ix_cases_close_contact_residence_district",
        "cases_close_contact",
        ["residence_district_id"],
        unique=False,
    )
    op.create_table(
        "cases_cluster_member",
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("place_role", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("proposed_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases_case.id"], name=op.f("fk_cases_cluster_member_case_id_cases_case")
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cases_cluster.id"],
            name=op.f("fk_cases_cluster_member_cluster_id_cases_cluster"),
        ),
        sa.PrimaryKeyConstraint("cluster_id", "case_id", name=op.f("pk_cases_cluster_member")),
    )
    op.create_index(
        "ix_cases_cluster_member_case", "cases_cluster_member", ["case_id"], unique=False
    )
    op.create_table(
        "cases_place",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "building_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["areas_building.id"],
            name=op.f("fk_cases_place_building_id_areas_building"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases_case.id"], name=op.f("fk_cases_place_case_id_cases_case")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_place_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_place")),
        sa.UniqueConstraint(
            "case_id", "building_id", "role", name=op.f("uq_cases_place_case_id_building_id_role")
        ),
    )
    op.create_index(
        "ix_cases_place_building_day", "cases_place", ["building_id", "day"], unique=False
    )
    op.create_table(
        "cases_transmission_link",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "source_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "target_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("evidence_kind", sa.String(length=24), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=False),
        sa.Column("to_district_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spillover", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_transmission_link_from_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["source_case_id"],
            ["cases_case.id"],
            name=op.f("fk_cases_transmission_link_source_case_id_cases_case"),
        ),
        sa.ForeignKeyConstraint(
            ["target_case_id"],
            ["cases_case.id"],
            name=op.f("fk_cases_transmission_link_target_case_id_cases_case"),
        ),
        sa.ForeignKeyConstraint(
            ["to_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_transmission_link_to_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_transmission_link")),
        sa.UniqueConstraint(
            "target_case_id", name=op.f("uq_cases_transmission_link_target_case_id")
        ),
    )
    op.create_index(
        op.f("ix_cases_transmission_link_created_at"),
        "cases_transmission_link",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        "ix_cases_transmission_link_day", "cases_transmission_link", ["day"], unique=False
    )
    op.create_index(
        "ix_cases_transmission_link_source",
        "cases_transmission_link",
        ["source_case_id"],
        unique=False,
    )
    op.create_table(
        "cases_contact_referral_need",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("from_district_id", sa.Integer(), nullable=False),
        sa.Column("to_district_id", sa.Integer(), nullable=False),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases_case.id"],
            name=op.f("fk_cases_contact_referral_need_case_id_cases_case"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["cases_close_contact.id"],
            name=op.f("fk_cases_contact_referral_need_contact_id_cases_close_contact"),
        ),
        sa.ForeignKeyConstraint(
            ["from_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_contact_referral_need_from_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people_person.id"],
            name=op.f("fk_cases_contact_referral_need_person_id_people_person"),
        ),
        sa.ForeignKeyConstraint(
            ["to_district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_contact_referral_need_to_district_id_areas_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_contact_referral_need")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_cases_contact_referral_need_contact_id")),
    )
    op.create_index(
        "ix_cases_contact_referral_need_opened",
        "cases_contact_referral_need",
        ["opened_at"],
        unique=False,
    )
    op.create_table(
        "cases_quarantine_order",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("bed_from", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("home_from", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("test_days", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("released_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "release_test_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("release_test_result", sa.String(length=16), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["cases_close_contact.id"],
            name=op.f("fk_cases_quarantine_order_contact_id_cases_close_contact"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["areas_district.id"],
            name=op.f("fk_cases_quarantine_order_district_id_areas_district"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["resources_facility.id"],
            name=op.f("fk_cases_quarantine_order_facility_id_resources_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people_person.id"],
            name=op.f("fk_cases_quarantine_order_person_id_people_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_quarantine_order")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_cases_quarantine_order_contact_id")),
    )
    op.create_index(
        "ix_cases_quarantine_order_district_start",
        "cases_quarantine_order",
        ["district_id", "starts_on"],
        unique=False,
    )
    op.create_index(
        "ix_cases_quarantine_order_facility_start",
        "cases_quarantine_order",
        ["facility_id", "starts_on"],
        unique=False,
    )
    op.create_index(
        "ix_cases_quarantine_order_person_status",
        "cases_quarantine_order",
        ["person_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cases_quarantine_order_updated_at"),
        "cases_quarantine_order",
        ["updated_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_quarantine_order_updated_at"), table_name="cases_quarantine_order")
    op.drop_index("ix_cases_quarantine_order_person_status", table_name="cases_quarantine_order")
    op.drop_index("ix_cases_quarantine_order_facility_start", table_name="cases_quarantine_order")
    op.drop_index("ix_cases_quarantine_order_district_start", table_name="cases_quarantine_order")
    op.drop_table("cases_quarantine_order")
    op.drop_index("ix_cases_contact_referral_need_opened", table_name="cases_contact_referral_need")
    op.drop_table("cases_contact_referral_need")
    op.drop_index("ix_cases_transmission_link_source", table_name="cases_transmission_link")
    op.drop_index("ix_cases_transmission_link_day", table_name="cases_transmission_link")
    op.drop_index(
        op.f("ix_cases_transmission_link_created_at"), table_name="cases_transmission_link"
    )
    op.drop_table("cases_transmission_link")
    op.drop_index("ix_cases_place_building_day", table_name="cases_place")
    op.drop_table("cases_place")
    op.drop_index("ix_cases_cluster_member_case", table_name="cases_cluster_member")
    op.drop_table("cases_cluster_member")
    op.drop_index("ix_cases_close_contact_residence_district", table_name="cases_close_contact")
    op.drop_index("ix_cases_close_contact_person", table_name="cases_close_contact")
    op.drop_table("cases_close_contact")
    op.drop_index(op.f("ix_cases_case_updated_at"), table_name="cases_case")
    op.drop_index("ix_cases_case_residence_district", table_name="cases_case")
    op.drop_index("ix_cases_case_report_district_day", table_name="cases_case")
    op.drop_index(op.f("ix_cases_case_created_at"), table_name="cases_case")
    op.drop_index("ix_cases_case_conversion_day", table_name="cases_case")
    op.drop_table("cases_case")
    op.drop_index(op.f("ix_cases_cluster_updated_at"), table_name="cases_cluster")
    op.drop_index("ix_cases_cluster_district_status", table_name="cases_cluster")
    op.drop_index("ix_cases_cluster_building", table_name="cases_cluster")
    op.drop_table("cases_cluster")
