"""people: the keyed hash of each phone's last four digits, to find a person by them

A caller on the telephone reads out the last digits of a number; the phone is stored encrypted,
so search matches a keyed hash of those four digits (HMAC under the national ID's key, as the
other hashes). Existing persons are backfilled with the deployment's keys, read only when there
is a person with a phone to backfill.

Revision ID: 0170_people_phone_tail
Revises: 0140_people_duplicates
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0170_people_phone_tail"
down_revision = "0140_people_duplicates"
branch_labels = None
depends_on = None

_BATCH = 5_000

_person = sa.table(
    "people_person",
    sa.column("id", sa.BigInteger()),
    sa.column("phone_enc", sa.LargeBinary()),
    sa.column("phone_tail_hash", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("people_person") as batch:
        batch.add_column(sa.Column("phone_tail_hash", sa.LargeBinary(length=32), nullable=True))
    _backfill()
    op.create_index("ix_people_person_phone_tail", "people_person", ["phone_tail_hash"])


def _backfill() -> None:
    """Hash the last four digits of the phones already registered, a batch at a time."""
    bind = op.get_bind()
    pending = sa.select(_person.c.id, _person.c.phone_enc).where(
        _person.c.phone_enc.is_not(None), _person.c.id > sa.bindparam("after")
    )
    after = 0
    protector = None
    while rows := bind.execute(
        pending.order_by(_person.c.id).limit(_BATCH), {"after": after}
    ).all():
        if protector is None:
            # Imported here: only a database with phones needs the deployment's keys.
            from xietong.config import get_settings
            from xietong.people.protection import PersonalDataProtector

            protector = PersonalDataProtector.from_settings(get_settings())
        bind.execute(
            _person.update()
            .where(_person.c.id == sa.bindparam("person_id"))
            .values(phone_tail_hash=sa.bindparam("tail")),
            [
                {
                    "person_id": row.id,
                    "tail": protector.hash_phone_tail(protector.decrypt(row.phone_enc)),
                }
                for row in rows
            ],
        )
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_people_person_phone_tail", table_name="people_person")
    with op.batch_alter_table("people_person") as batch:
        batch.drop_column("phone_tail_hash")
