"""Fresh PostgreSQL databases for the benchmarks: each run creates its own and drops it after."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def fresh_postgresql(admin_url: str, *, prefix: str = "xietong_bench") -> tuple[str, str]:
    """Create an empty database next to `admin_url`'s; return its URL and its name."""
    from xietong.storage.engine import normalise_url

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalise_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False), name


def drop_postgresql(admin_url: str, name: str) -> None:
    from xietong.storage.engine import normalise_url

    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
