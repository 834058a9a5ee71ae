"""people: an index on the national ID's last four characters

A caller on the telephone reads out the last four characters of the ID; the search matched them
with `id_masked LIKE '%1234'`, which no index serves, so each search read every person the caller
may see (two seconds at a million persons). Every number is 18 characters, so the masked form
keeps the tail at 15-18, and an index on that expression answers the search directly.

Revision ID: 0250_people_id_tail
Revises: 0170_people_phone_tail
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0250_people_id_tail"
down_revision = "0170_people_phone_tail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_people_person_id_tail", "people_person", [sa.text("substr(id_masked, 15, 4)")]
    )


def downgrade() -> None:
    op.drop_index("ix_people_person_id_tail", table_name="people_person")
