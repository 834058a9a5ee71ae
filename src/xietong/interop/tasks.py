"""The bulk export job: queued `$export` requests are run by the server's workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.interop import bulk_export
from xietong.outbox.runtime import PeriodicJob

# A requester polls the status; a queued export starts within this long.
EXPORT_EVERY_SECONDS = 2.0


def run_exports(session: Session, settings: Settings, now: datetime) -> int:
    return bulk_export.run_pending_exports(session, folder=settings.export_dir, now=now)


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("fhir-export", EXPORT_EVERY_SECONDS, run_exports)]
