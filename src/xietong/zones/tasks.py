"""The daily evaluation (快解): every active area whose building has had the policy's clean days
is proposed for lifting, set-based over all locked buildings at once — one UPDATE, one bulk insert
of the steps and one notice per district. Run it once the day's screening results are in
(`xietong zones evaluate --date`); running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import FromClause, Insert, Update, func, insert, literal, select, update
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.clock import DEFAULT_TZ
from xietong.core.principal import SYSTEM
from xietong.policy import service as policy_service
from xietong.storage.bulk_sql import table_of
from xietong.zones import adapters, countdown, notices, rules
from xietong.zones.adapters import ScreenedThroughout, ScreeningSource
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
    return _propose(session, area_ids=[d.area_id for d in due], day=day, reason=reason, now=now)


def _propose(
    session: Session, *, area_ids: Sequence[int], day: date, reason: str, now: datetime
) -> list[int]:
    if not area_ids:
        return []
    ids = sorted(set(area_ids))
    version = policy_service.policy_in_force(session, day=day).version
    step = _ProposalStep(day=day, reason=reason, now=now, version=version)
    proposed: list[notices.LiftingNoticeRow] = []
    for start in range(0, len(ids), _CHUNK):
        proposed += step.run(session, ids=ids[start : start + _CHUNK])
    if not proposed:
        return []
    proposed.sort()
    done = {row[0] for row in proposed}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RiskArea) and obj.id in done:
            session.expire(obj)
    notices.send_liftings_due(
        session, due=proposed, at=now, day=day, version=version, reason=reason
    )
    return [row[0] for row in proposed]


class _ProposalStep:
    """The proposal of a chunk of areas as statements the database runs over all of them: the
    areas' rows and their steps never travel to Python and back, only what the notices show."""

    def __init__(self, *, day: date, reason: str, now: datetime, version: str) -> None:
        events = RiskAreaEvent.__table__.c
        self.values = (
            ("step", literal("lifting_proposed", events.step.type)),
            ("at", literal(now, events.at.type)),
            ("day", literal(day, events.day.type)),
            ("username", literal(SYSTEM.username, events.username.type)),
            ("policy_version", literal(version, events.policy_version.type)),
            ("reason", literal(reason, events.reason.type)),
        )
        self.now = now

    def changed(self, session: Session, ids: Sequence[int]) -> Update:
        """The areas of `ids` still active become `lifting_proposed`: one UPDATE."""
        table = table_of(RiskArea)
        return (
            update(table)
            .where(adapters.id_in(table.c.id, ids, session=session), table.c.status == "active")
            .values(
                status="lifting_proposed",
                lifting_proposed_at=self.now,
                lifting_proposed_by=SYSTEM.username,
                updated_at=self.now,
            )
            .returning(table.c.id, table.c.district_id, table.c.building_id)
        )

    def steps(self, areas: Any) -> Insert:
        """One step per area of `areas` (a selectable of id and district_id)."""
        return insert(table_of(RiskAreaEvent)).from_select(
            ["area_id", "district_id", *(name for name, _ in self.values)],
            select(areas.c.id, areas.c.district_id, *(value for _, value in self.values)),
        )

    def run(self, session: Session, *, ids: Sequence[int]) -> list[notices.LiftingNoticeRow]:
        places = areas_service.building_places()
        # Core rows straight from the connection: no ORM bookkeeping for tens of thousands.
        connection = session.connection()
        proposed: FromClause
        if session.get_bind().dialect.name == "postgresql":
            # One statement: the UPDATE feeds the steps' INSERT as a data-modifying CTE, and
            # only the notices' columns come back.
            proposed = self.changed(session, ids).cte("proposed")
            written = self.steps(proposed).cte("written")
            query = select(
                proposed.c.id, proposed.c.district_id, places.c.code, places.c.address_label
            ).add_cte(written)
        else:
            # SQLite has no data-modifying CTE: the UPDATE returns the ids, then the steps are
            # copied from the areas' own rows by one INSERT ... SELECT.
            done = [row[0] for row in connection.execute(self.changed(session, ids)).all()]
            if not done:
                return []
            table = RiskArea.__table__
            proposed = (
                select(table.c.id, table.c.district_id, table.c.building_id)
                .where(adapters.id_in(table.c.id, done, session=session))
                .subquery("proposed")
            )
            connection.execute(self.steps(proposed))
            query = select(
                proposed.c.id, proposed.c.district_id, places.c.code, places.c.address_label
            )
        query = query.select_from(proposed.outerjoin(places, places.c.id == proposed.c.building_id))
        return [
            (int(area_id), int(district_id), code, label)
            for area_id, district_id, code, label in connection.execute(query).all()
        ]


def evaluate_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    tz: str = DEFAULT_TZ,
    screening: ScreeningSource | None = None,
    screened_throughout: ScreenedThroughout | None = None,
) -> EvaluationReport:
    """Propose the lifting of every active area whose last N days up to `day` were clean.

    The screening is asked which candidate buildings were negative on every day of the window
    (`screened_throughout`, or the same question asked of `screening`'s days).
    """
    policy = policy_service.policy_in_force(session, day=day)
    rule = rules.LiftingRule.from_policy(policy.risk_area)
    source, availability = countdown.resolve_screened_throughout(
        screening=screening,
        throughout=screened_throughout,
        required=rule.requires_negative_screening,
    )
    table = RiskArea.__table__
    locked = (
        table.c.status == "active",
        table.c.active_from.is_not(None),
        table.c.active_from <= day,
    )
    evaluated = session.scalar(select(func.count()).select_from(table).where(*locked)) or 0
    countable_from = func.coalesce(table.c.countdown_from, table.c.active_from)
    # Only the areas that could be due come to Python: most locked buildings are ruled out by
    # the database, on its indexes.
    areas = (
        session.connection()
        .execute(
            select(
                table.c.id,
                table.c.building_id,
                countdown.day_ordinal(countable_from, session=session),
            )
            .where(
                *locked,
                countdown.could_be_due(
                    building_id=table.c.building_id,
                    countable_from=countable_from,
                    day=day,
                    rule=rule,
                ),
            )
            .order_by(table.c.id)
        )
        .all()
    )
    proposed: list[int] = []
    if areas:
        area_ids, building_ids, starts = zip(*areas, strict=True)
        due = countdown.due_on(
            session,
            building_ids=building_ids,
            countable_from=np.fromiter(starts, dtype=np.int64, count=len(areas)),
            day=day,
            rule=rule,
            source=source,
        )
        first = day - timedelta(days=rule.clean_days - 1)
        screening_note = {
            "given": ", screened negative every day",
            "screening": ", screened negative every day",
        }.get(availability, "")
        proposed = _propose(
            session,
            area_ids=np.asarray(area_ids, dtype=np.int64)[due].tolist(),
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
        areas_evaluated=evaluated,
        liftings_proposed=proposed,
    )
