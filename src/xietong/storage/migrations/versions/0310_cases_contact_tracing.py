"""cases: an index on the district tracing each close contact

A district's quarantine page lists the orders it holds and those of the contacts it traces.
Read with one OR over a subquery, PostgreSQL filtered every order of the city for the list and
again for its count (about 100 ms each at 197,000 orders). The orders are now read as those of
the district (its index) or of the contacts it traces (the unique index on the order's contact),
the two sets of rows ORed before any is read; this index finds the contacts it traces.

Revision ID: 0310_cases_contact_tracing
Revises: 0230_cases_report_day
"""

from __future__ import annotations

from alembic import op

revision = "0310_cases_contact_tracing"
down_revision = "0230_cases_report_day"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_close_contact_tracing_district", "cases_close_contact", ["tracing_district_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_close_contact_tracing_district", table_name="cases_close_contact")
