"""Bringing a database to a usable state: migrations, then the bundled reference areas."""

from __future__ import annotations

from sqlalchemy import Engine

from xietong.areas import service as areas_service
from xietong.storage.engine import session_factory
from xietong.storage.migrate import upgrade
from xietong.storage.unit_of_work import unit_of_work


def prepare_database(engine: Engine) -> int:
    """Migrate to head and load the reference districts; return how many districts were new."""
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        return areas_service.load_reference_districts(session)
