"""policy: adopted policy files from before `[mutual_aid]` get the section, so they still load

The policy gained a required `[mutual_aid] demand_quantile`; a file adopted earlier would no
longer validate and every rule read would fail. Such files are given the bundled default's
level (0.75), with a comment in the stored text saying when and why it was added.

Revision ID: 0090_policy_mutual_aid
Revises: 0001_foundation
"""

from __future__ import annotations

import tomllib

import sqlalchemy as sa
from alembic import op

revision = "0090_policy_mutual_aid"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_SECTION = (
    "\n\n# Added when the database was upgraded: this file was adopted before the policy named\n"
    "# the forecast level that the mutual-aid demand reads; the bundled default's level is used.\n"
    "[mutual_aid]\n"
    "demand_quantile = 0.75\n"
)
_MARK = "# Added when the database was upgraded"

_adopted = sa.table(
    "policy_adopted",
    sa.column("id", sa.Integer()),
    sa.column("source_text", sa.Text()),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_adopted.c.id, _adopted.c.source_text)).all()
    for row_id, text in rows:
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            # Not ours to mend: the policy loader names the error when the file is read.
            continue
        if "mutual_aid" in parsed:
            continue
        connection.execute(
            sa.update(_adopted)
            .where(_adopted.c.id == row_id)
            .values(source_text=text.rstrip("\n") + _SECTION)
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_adopted.c.id, _adopted.c.source_text)).all()
    for row_id, text in rows:
        if _MARK in text:
            connection.execute(
                sa.update(_adopted)
                .where(_adopted.c.id == row_id)
                .values(source_text=text[: text.index(_MARK)].rstrip("\n") + "\n")
            )
