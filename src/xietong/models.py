"""Every domain's tables, imported in one place so that migrations see the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """The metadata of all tables (importing every domain's `models` module on first call)."""
    import xietong.analytics.models
    import xietong.areas.models
    import xietong.auth.models
    import xietong.cases.models
    import xietong.interop.models
    import xietong.mutual_aid.models
    import xietong.outbox.models
    import xietong.people.models
    import xietong.policy.models
    import xietong.referrals.models
    import xietong.resources.models
    import xietong.screening.models
    import xietong.twin.models
    import xietong.zones.models  # noqa: F401
    from xietong.storage.base import Base

    return Base.metadata
