"""cases: each linked case's chain root, kept with the links

Listing the open chains walked every link down from the first cases of the chains on every view
(329 ms of the points and lines at ten million persons and 50,000 links). Each case now carries
its chain's first case (the one case of a chain without a source), kept by the cases service when
a link is made or removed, so that the chains are counted in one GROUP BY over it. The roots of
the links already recorded are found by one walk down the links from the first cases.

Revision ID: 0320_cases_chain_root
Revises: 0310_cases_contact_tracing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0320_cases_chain_root"
down_revision = "0310_cases_contact_tracing"
branch_labels = None
depends_on = None

# The first cases are the sources that are no one's target; every case below one gets it.
_BACKFILL = """
WITH RECURSIVE firsts (case_id) AS (
    SELECT source_case_id FROM cases_transmission_link
    EXCEPT
    SELECT target_case_id FROM cases_transmission_link
),
down (root, case_id) AS (
    SELECT case_id, case_id FROM firsts
    UNION ALL
    SELECT down.root, link.target_case_id
    FROM cases_transmission_link AS link
    JOIN down ON link.source_case_id = down.case_id
)
UPDATE cases_case SET chain_root_id = down.root
FROM down
WHERE cases_case.id = down.case_id
"""


def upgrade() -> None:
    op.add_column("cases_case", sa.Column("chain_root_id", sa.BigInteger(), nullable=True))
    op.execute(_BACKFILL)
    op.create_index("ix_cases_case_chain_root", "cases_case", ["chain_root_id"])
    if op.get_bind().dialect.name == "postgresql":
        # The planner's figures for the new column now, not at the next automatic analysis:
        # without them it reads every case to find a few chains' members.
        op.execute("ANALYZE cases_case")


def downgrade() -> None:
    op.drop_index("ix_cases_case_chain_root", table_name="cases_case")
    op.drop_column("cases_case", "chain_root_id")
