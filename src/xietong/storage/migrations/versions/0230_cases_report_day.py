"""cases: an index on the day of report

The overview's open chains start from the linked cases reported within a cluster's quiet period
(`cases.links.service.list_chains` with `active_since`); with this index that is a range read of
the recent cases, whatever the length of the epidemic's history. The case lists' day filters
read it too.

Revision ID: 0230_cases_report_day
Revises: 0040_link_proposals
"""

from __future__ import annotations

from alembic import op

revision = "0230_cases_report_day"
down_revision = "0040_link_proposals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_case_report_day", "cases_case", ["report_day"])


def downgrade() -> None:
    op.drop_index("ix_cases_case_report_day", table_name="cases_case")
