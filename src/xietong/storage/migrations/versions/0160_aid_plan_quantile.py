"""mutual aid: a plan keeps the forecast quantile its demand was read at

The policy's `mutual_aid.demand_quantile` can change between plans; a plan records the level it
was built on so that it can be read later as what it was. Plans stored before this have none
recorded (NULL), which the screens show as not recorded rather than guessing.

Revision ID: 0160_aid_plan_quantile
Revises: 0007_resources
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0160_aid_plan_quantile"
down_revision = "0007_resources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources_plan") as batch:
        batch.add_column(sa.Column("demand_quantile", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resources_plan") as batch:
        batch.drop_column("demand_quantile")
