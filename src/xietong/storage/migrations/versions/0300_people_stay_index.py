"""people: who stays in each building of a district, read from an index alone

The screening plan counts the persons staying in each building of the district shown. Through
the index on the district alone, PostgreSQL visited every such person's row: 0.7-1.2 s for a
district of 684,000 persons in a city of ten million. An index on the district and the building,
of the persons not merged into another, answers the count without reading the rows.

Revision ID: 0300_people_stay_index
Revises: 0250_people_id_tail
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_people_stay_index"
down_revision = "0250_people_id_tail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_people_person_stay",
        "people_person",
        ["current_district_id", "current_building_id"],
        postgresql_where=sa.text("merged_into_id IS NULL"),
        sqlite_where=sa.text("merged_into_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_people_person_stay", table_name="people_person")
