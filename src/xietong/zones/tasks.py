"""The daily evaluation (快解): every active area whose building has had the policy's clean days
is proposed for lifting, set-based over all locked buildings at once — one UPDATE, one bulk insert
of the steps and one notice per district. Run it once the day's screening results are in
(`xietong zones evaluate --date`); running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xietong.core.clock import DEFAULT_TZ
from xietong.core.principal import SYSTEM
from xietong.policy import service as policy_service
from xietong.storage.bulk import bulk_insert
from xietong.zones import adapters, countdown, notices, rules
from xietong.zones.adapters import ScreeningSource
from xietong.zones.models import RiskArea, RiskAreaEvent
from xietong.zones.schemas import EvaluationReport

# Areas per UPDATE: one bound parameter whatever the count, so only memory bounds it.
_CHUNK = 50_000


class LiftingDue(NamedTuple):
    """An active area whose building has had the policy's clean days."""

    area_id: int
    district_id: int
    building_id: int


def propose_liftings(
    session: Session,
    *,
    due: Sequence[LiftingDue],
    day: date,
    reason: str,
    now: datetime,
) -> list[int]:
    """Propose the lifting of active areas (the daily evaluation), set-based; return their ids.

    Areas no longer active are left alone. Each district gets one notice listing its areas due
    for lifting that day.
    """
    if not due:
        return []
    by_id = {d.area_id: d for d in due}
    ids = sorted(by_id)
    proposed: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        # Every area proposed together gets the same values: one UPDATE per chunk.
        updated = session.execute(
            update(RiskArea)
            .where(
                adapters.id_in(RiskArea.id, ids[start : start + _CHUNK], session=session),
                RiskArea.status == "active",
            )
            .values(
                status="lifting_proposed",
                lifting_proposed_at=now,
                lifting_proposed_by=SYSTEM.username,
                updated_at=now,
            )
            .returning(RiskArea.id)
            .execution_options(synchronize_session=False)
        )
        proposed.extend(int(i) for i in updated.scalars())
    if not proposed:
        return []
    proposed.sort()
    version = policy_service.policy_in_force(session, day=day).version
    bulk_insert(
        session,
        RiskAreaEvent.__table__,  # type: ignore[arg-type]
        ["area_id", "district_id", "step", "at", "day", "username", "policy_version", "reason"],
        (
            (
                i,
                by_id[i].district_id,
                "lifting_proposed",
                now,
                day,
                SYSTEM.username,
                version,
                reason,
            )
            for i in proposed
        ),
    )
    done = set(proposed)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RiskArea) and obj.id in done:
            session.expire(obj)
    notices.send_liftings_due(
        session,
        due=[(i, by_id[i].district_id, by_id[i].building_id) for i in proposed],
        at=now,
        day=day,
        version=version,
        reason=reason,
    )
    return proposed


def evaluate_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    tz: str = DEFAULT_TZ,
    screening: ScreeningSource | None = None,
) -> EvaluationReport:
    """Propose the lifting of every active area whose last N days up to `day` were clean."""
    policy = policy_service.policy_in_force(session, day=day)
    rule = rules.LiftingRule.from_policy(policy.risk_area)
    source, availability = countdown.resolve_screening(
        screening, required=rule.requires_negative_screening
    )
    table = RiskArea.__table__
    areas = session.execute(
        select(
            table.c.id,
            table.c.district_id,
            table.c.building_id,
            countdown.day_ordinal(
                func.coalesce(table.c.countdown_from, table.c.active_from), session=session
            ),
        )
        .where(
            table.c.status == "active",
            table.c.active_from.is_not(None),
            table.c.active_from <= day,
        )
        .order_by(table.c.id)
    ).all()
    proposed: list[int] = []
    if areas:
        area_ids, district_ids, building_ids, countable_from = zip(*areas, strict=True)
        due = countdown.due_on(
            session,
            building_ids=building_ids,
            countable_from=np.fromiter(countable_from, dtype=np.int64, count=len(areas)),
            day=day,
            rule=rule,
            source=source,
        )
        first = day - timedelta(days=rule.clean_days - 1)
        screening_note = {
            "given": ", screened negative every day",
            "screening": ", screened negative every day",
        }.get(availability, "")
        proposed = propose_liftings(
            session,
            due=[
                LiftingDue(area_ids[i], district_ids[i], building_ids[i])
                for i in np.flatnonzero(due).tolist()
            ],
            day=day,
            reason=(
                f"{rule.clean_days} consecutive clean days, {first.isoformat()} to "
                f"{day.isoformat()}{screening_note} (policy {policy.version})"
            ),
            now=now,
        )
    return EvaluationReport(
        day=day,
        policy_version=policy.version,
        lift_after_clean_days=rule.clean_days,
        requires_negative_screening=rule.requires_negative_screening,
        screening=availability,
        areas_evaluated=len(areas),
        liftings_proposed=proposed,
    )
