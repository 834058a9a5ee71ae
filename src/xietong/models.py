"""Every domain's tables, imported in one place so that migrations see the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """The metadata of all tables (importing every domain's `models` module on first call)."""
    from xietong.domains import domain_modules
    from xietong.storage.base import Base

    domain_modules("models")
    return Base.metadata
