"""people: keyed hashes of name and phone, merged persons, and the queue of possible duplicates

Persons get `name_hash` and `phone_hash` (HMAC under the national ID's key, as the ID itself) so
that possible duplicates are found by an indexed join, never by decrypting the table; existing
persons are backfilled with the deployment's keys (XIETONG_ID_HASH_KEY, XIETONG_ENCRYPTION_KEY),
which are read only when there is a person to backfill. A merged person keeps its row, marked
with the survivor.

Revision ID: 0140_people_duplicates
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xietong.storage.base

revision = "0140_people_duplicates"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_BATCH = 5_000

_person = sa.table(
    "people_person",
    sa.column("id", sa.BigInteger()),
    sa.column("name_enc", sa.LargeBinary()),
    sa.column("phone_enc", sa.LargeBinary()),
    sa.column("name_hash", sa.LargeBinary()),
    sa.column("phone_hash", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("people_person") as batch:
        batch.add_column(sa.Column("name_hash", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("merged_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True)
        )
    _backfill()
    op.create_index("ix_people_person_name_birth", "people_person", ["name_hash", "birth_date"])
    op.create_index("ix_people_person_phone_birth", "people_person", ["phone_hash", "birth_date"])
    op.create_table(
        "people_duplicate_pair",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("first_person_id", sa.BigInteger(), nullable=False),
        sa.Column("second_person_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("found_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("found_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", xietong.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("survivor_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_duplicate_pair")),
        sa.UniqueConstraint(
            "first_person_id",
            "second_person_id",
            name=op.f("uq_people_duplicate_pair_first_person_id_second_person_id"),
        ),
    )
    op.create_index("ix_people_duplicate_pair_status", "people_duplicate_pair", ["status"])
    op.create_index(
        "ix_people_duplicate_pair_second", "people_duplicate_pair", ["second_person_id"]
    )


def _backfill() -> None:
    """Hash the names and phones of the persons already registered, a batch at a time."""
    bind = op.get_bind()
    pending = sa.select(_person.c.id, _person.c.name_enc, _person.c.phone_enc).where(
        _person.c.name_hash.is_(None), _person.c.id > sa.bindparam("after")
    )
    after = 0
    protector = None
    while rows := bind.execute(
        pending.order_by(_person.c.id).limit(_BATCH), {"after": after}
    ).all():
        if protector is None:
            # Imported here: only a database with persons needs the deployment's keys.
            from xietong.config import get_settings
            from xietong.people.protection import PersonalDataProtector

            protector = PersonalDataProtector.from_settings(get_settings())
        bind.execute(
            _person.update()
            .where(_person.c.id == sa.bindparam("person_id"))
            .values(name_hash=sa.bindparam("nh"), phone_hash=sa.bindparam("ph")),
            [
                {
                    "person_id": row.id,
                    "nh": protector.hash_name(protector.decrypt(row.name_enc)),
                    "ph": protector.hash_phone(protector.decrypt_optional(row.phone_enc)),
                }
                for row in rows
            ],
        )
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_people_duplicate_pair_second", table_name="people_duplicate_pair")
    op.drop_index("ix_people_duplicate_pair_status", table_name="people_duplicate_pair")
    op.drop_table("people_duplicate_pair")
    op.drop_index("ix_people_person_phone_birth", table_name="people_person")
    op.drop_index("ix_people_person_name_birth", table_name="people_person")
    with op.batch_alter_table("people_person") as batch:
        batch.drop_column("merged_at")
        batch.drop_column("merged_into_id")
        batch.drop_column("phone_hash")
        batch.drop_column("name_hash")
