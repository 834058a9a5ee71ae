"""A duplicate person's building infections moved to the person it is merged into; one
infection per person and building, so the survivor's is kept where both have one."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, and_, delete, exists, update
from sqlalchemy.orm import Session

from xietong.storage.bulk_sql import rowcount
from xietong.zones.models import BuildingInfection


def move_person_records(
    session: Session, *, from_person_id: int, to_person_id: int
) -> dict[str, int]:
    """Move the building infections of one person to another; return the rows moved."""
    session.flush()
    table = cast(Table, BuildingInfection.__table__)
    twin = table.alias("survivor_row")
    same = and_(twin.c.person_id == to_person_id, twin.c.building_id == table.c.building_id)
    dropped = rowcount(
        session.execute(
            delete(table).where(table.c.person_id == from_person_id, exists().where(same))
        )
    )
    moved = rowcount(
        session.execute(
            update(table).where(table.c.person_id == from_person_id).values(person_id=to_person_id)
        )
    )
    counts = {"zones_building_infection": moved}
    if dropped:
        counts["zones_building_infection_dropped"] = dropped
    return counts
