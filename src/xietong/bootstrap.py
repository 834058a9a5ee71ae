"""Bringing a database to a usable state: migrations, then the bundled reference areas."""

from __future__ import annotations

from sqlalchemy import Engine

from xietong.areas import service as areas_service
from xietong.storage.engine import session_factory
from xietong.storage.migrate import upgrade


def prepare_database(engine: Engine) -> int:
    """Migrate to head and load the reference districts; return how many districts were new."""
    upgrade(engine)
    # Loading reference data stamps no time: this unit of work needs no clock.
    with session_factory(engine)() as session, session.begin():
        return areas_service.load_reference_districts(session)
