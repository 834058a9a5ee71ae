"""Persons registered before names and phones had keyed hashes get them on upgrade, so that the
duplicates of a database already in use are found like those registered later, and its persons
by the last digits of their phone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from tests.migrations.test_policy_upgrade import empty_engine  # noqa: F401 (fixture)
from xietong.config import get_settings
from xietong.people.protection import PersonalDataProtector
from xietong.storage.migrate import upgrade

_district = sa.table(
    "areas_district",
    *(sa.column(c) for c in ("id", "code", "name_hans", "name_hant", "pinyin", "english")),
    sa.column("kind"),
    sa.column("central_urban"),
    sa.column("centroid_lon"),
    sa.column("centroid_lat"),
)
_person = sa.table(
    "people_person",
    *(sa.column(c) for c in ("id", "id_hash", "id_masked", "name_enc", "phone_enc")),
    *(sa.column(c) for c in ("birth_date", "residence_district_id", "current_district_id")),
    sa.column("created_at"),
    sa.column("updated_at"),
    sa.column("name_hash"),
    sa.column("phone_hash"),
    sa.column("phone_tail_hash"),
)


def test_names_and_phones_registered_before_are_hashed_on_upgrade(
    empty_engine: Engine,  # noqa: F811
) -> None:
    upgrade(empty_engine, "0001_foundation")
    # The keys the upgrade reads: the deployment's settings.
    protector = PersonalDataProtector.from_settings(get_settings())
    at = datetime(2022, 11, 1, tzinfo=UTC)
    with empty_engine.begin() as connection:
        connection.execute(
            _district.insert().values(
                id=1,
                code="500199",
                name_hans="测试区",
                name_hant="測試區",
                pinyin="ceshi",
                english="Test",
                kind="district",
                central_urban=False,
                centroid_lon=106.5,
                centroid_lat=29.5,
            )
        )
        connection.execute(
            _person.insert(),
            [
                {
                    "id": i,
                    "id_hash": protector.hash_id(f"number-{i}"),
                    "id_masked": "5001**********0000",
                    "name_enc": protector.encrypt(name),
                    "phone_enc": protector.encrypt_optional(phone),
                    "birth_date": date(1950, 1, 1),
                    "residence_district_id": 1,
                    "current_district_id": 1,
                    "created_at": at,
                    "updated_at": at,
                }
                for i, name, phone in ((1, "韩梅", "13700000001"), (2, "韩 梅", None))
            ],
        )
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        hashed = connection.execute(
            sa.select(_person.c.id, _person.c.name_hash, _person.c.phone_hash).order_by("id")
        ).all()
    assert [tuple(row) for row in hashed] == [
        (1, protector.hash_name("韩梅"), protector.hash_phone("13700000001")),
        (2, protector.hash_name("韩梅"), None),
    ]
    # And the last four digits of each phone, for a search by what a caller reads out.
    with empty_engine.connect() as connection:
        tails = connection.execute(
            sa.select(_person.c.id, _person.c.phone_tail_hash).order_by("id")
        ).all()
    assert [tuple(row) for row in tails] == [(1, protector.hash_phone_tail("0001")), (2, None)]
