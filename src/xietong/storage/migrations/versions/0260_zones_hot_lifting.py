"""zones: a risk area's steps rewrite its row in place, touching none of its indexes

The daily evaluation proposes the lifting of tens of thousands of areas at once. Each such UPDATE
changed `status` and `updated_at`, both indexed (and `status` in the one-open-area index's
predicate), so PostgreSQL wrote every row as a new version with an entry in each of the table's
five indexes: three quarters of the statement's time. Now no index reads a column a step changes:

- one open area per building is a unique index on a generated column, `open_building_id`
  (the building while the area is open, NULL once closed), which a step between open statuses
  leaves as it was;
- the building's and district's indexes no longer carry the status;
- `updated_at` is not indexed: the areas changed since an instant are those with a step since
  then (`zones_risk_area_event.at`, indexed), as every change of an area writes its step;
- on PostgreSQL the table's pages keep 30 % free (fillfactor 70), so the new version of a row
  fits on its page and the update is a heap-only tuple (HOT) update.

Revision ID: 0260_zones_hot_lifting
Revises: 0006_zones
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0260_zones_hot_lifting"
down_revision = "0006_zones"
branch_labels = None
depends_on = None

_OPEN_SQL = "status IN ('proposed', 'active', 'lifting_proposed')"
_OPEN_BUILDING_SQL = f"CASE WHEN {_OPEN_SQL} THEN building_id END"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("uq_zones_risk_area_open_building", table_name="zones_risk_area")
    op.drop_index("ix_zones_risk_area_building_status", table_name="zones_risk_area")
    op.drop_index("ix_zones_risk_area_district_status", table_name="zones_risk_area")
    op.drop_index("ix_zones_risk_area_updated_at", table_name="zones_risk_area")
    # SQLite adds only virtual generated columns to an existing table; PostgreSQL only stored ones.
    op.add_column(
        "zones_risk_area",
        sa.Column(
            "open_building_id",
            sa.BigInteger(),
            sa.Computed(_OPEN_BUILDING_SQL, persisted=postgresql),
            nullable=True,
        ),
    )
    op.create_index(
        "uq_zones_risk_area_open_building", "zones_risk_area", ["open_building_id"], unique=True
    )
    op.create_index("ix_zones_risk_area_building", "zones_risk_area", ["building_id"])
    op.create_index("ix_zones_risk_area_district", "zones_risk_area", ["district_id"])
    if postgresql:
        op.execute("ALTER TABLE zones_risk_area SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE zones_risk_area RESET (fillfactor)")
    op.drop_index("ix_zones_risk_area_district", table_name="zones_risk_area")
    op.drop_index("ix_zones_risk_area_building", table_name="zones_risk_area")
    op.drop_index("uq_zones_risk_area_open_building", table_name="zones_risk_area")
    op.drop_column("zones_risk_area", "open_building_id")
    op.create_index("ix_zones_risk_area_updated_at", "zones_risk_area", ["updated_at"])
    op.create_index(
        "ix_zones_risk_area_district_status", "zones_risk_area", ["district_id", "status"]
    )
    op.create_index(
        "ix_zones_risk_area_building_status", "zones_risk_area", ["building_id", "status"]
    )
    op.create_index(
        "uq_zones_risk_area_open_building",
        "zones_risk_area",
        ["building_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN_SQL),
        postgresql_where=sa.text(_OPEN_SQL),
    )
