"""zones: a step names its area and district through one foreign key, not two

Each step row was checked twice as it was written: its area exists, its district exists. The
daily evaluation writes tens of thousands of steps in one statement, and PostgreSQL runs those
checks row by row (48,304 trigger calls for 24,152 liftings, a third of the statement's time).
One foreign key on (area, district) to the area's own (id, district) checks both at once, and
more: the step's district is its area's (whose district is checked by the area's own key).

Revision ID: 0261_zones_step_area_district
Revises: 0260_zones_hot_lifting
"""

from __future__ import annotations

from alembic import op

revision = "0261_zones_step_area_district"
down_revision = "0260_zones_hot_lifting"
branch_labels = None
depends_on = None

_AREA_FK = "fk_zones_risk_area_event_area_id_zones_risk_area"
_DISTRICT_FK = "fk_zones_risk_area_event_district_id_areas_district"


def upgrade() -> None:
    op.create_index(
        "uq_zones_risk_area_id_district", "zones_risk_area", ["id", "district_id"], unique=True
    )
    with op.batch_alter_table("zones_risk_area_event") as batch:
        batch.drop_constraint(_DISTRICT_FK, type_="foreignkey")
        batch.drop_constraint(_AREA_FK, type_="foreignkey")
        batch.create_foreign_key(
            _AREA_FK, "zones_risk_area", ["area_id", "district_id"], ["id", "district_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("zones_risk_area_event") as batch:
        batch.drop_constraint(_AREA_FK, type_="foreignkey")
        batch.create_foreign_key(_AREA_FK, "zones_risk_area", ["area_id"], ["id"])
        batch.create_foreign_key(_DISTRICT_FK, "areas_district", ["district_id"], ["id"])
    op.drop_index("uq_zones_risk_area_id_district", table_name="zones_risk_area")
