"""policy: adopted policy files from before `[shift]` get the section, so they still load

The policy gained a required `[shift] starts` (the command centre's handover times, which the
wall display counts changes from); a file adopted earlier would no longer validate. Such files
are given the bundled default's two shifts (08:00 and 20:00 local time), with a comment in the
stored text saying when and why it was added.

Revision ID: 0120_policy_shift
Revises: 0090_policy_mutual_aid
"""

from __future__ import annotations

import tomllib

import sqlalchemy as sa
from alembic import op

revision = "0120_policy_shift"
down_revision = "0090_policy_mutual_aid"
branch_labels = None
depends_on = None

_MARK = "# Added when the database was upgraded: this file was adopted before the policy named"
_SECTION = (
    f"\n\n{_MARK}\n"
    "# the shifts' handover times that the wall display counts from; the bundled default's\n"
    "# are used.\n"
    "[shift]\n"
    'starts = ["08:00", "20:00"]\n'
)

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
        if "shift" in parsed:
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
        if _SECTION.strip() in text:
            connection.execute(
                sa.update(_adopted)
                .where(_adopted.c.id == row_id)
                .values(source_text=text.replace(_SECTION.rstrip("\n"), "").rstrip("\n") + "\n")
            )
