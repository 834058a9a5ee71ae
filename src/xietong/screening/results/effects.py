"""What newly applied results set off, in the results' transaction (part of the screening service).

Positive and invalid tubes go through the pure fan-out (`pooling.fan_out`) with the positive-pool
rules of their round's policy; its holds, retests, case candidates, referral needs and resample
tasks are written in bulk, each idempotent on its natural key. A single tube that comes back for a
person with an open retest completes the retest and ends the hold (held until the retest result).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.policy.service import policy_in_force
from xietong.screening.models import (
    CaseCandidate,
    Hold,
    LabResult,
    Membership,
    ReferralNeed,
    ResampleTask,
    RetestTask,
    Site,
    Tube,
)
from xietong.screening.results import pooling
from xietong.screening.schemas import ResultBatchReport
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import chunks, dialect_of, index_scans, member_of, table_of


@dataclass(frozen=True)
class _Facts:
    """What the fan-out needs to know of one resulted tube."""

    district_id: int
    round_day: date
    collected_at: datetime
    site_id: int
    member_count: int
    building_id: int | None  # the tube's, else its site's
    lab_result_id: int
    reported_at: datetime
    outcome: str


def as_day(value: object) -> date:
    """A date from a raw SQL row (SQLite hands back text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def members_of(session: Session, tube_ids: Sequence[int]) -> dict[int, list[int]]:
    dialect = dialect_of(session)
    found: dict[int, list[int]] = defaultdict(list)
    with index_scans(session):
        for part in chunks(list(tube_ids)):
            for tube_id, person_id in session.execute(
                select(Membership.tube_id, Membership.person_id).where(
                    member_of(Membership.tube_id, part, dialect=dialect)
                )
            ):
                found[tube_id].append(person_id)
    return found


def apply(
    session: Session,
    *,
    tubes: Sequence[tuple[int, str]],
    now: datetime,
    report: ResultBatchReport,
) -> None:
    """Fan out the positive and invalid tubes among `tubes` (tube id, outcome)."""
    wanted = [tube_id for tube_id, outcome in tubes if outcome in ("positive", "invalid")]
    if not wanted:
        return
    dialect = dialect_of(session)
    info: dict[int, _Facts] = {}
    for part in chunks(wanted):
        for row in session.execute(
            select(
                Tube.id,
                Tube.district_id,
                Tube.round_day,
                Tube.collected_at,
                Tube.site_id,
                Tube.member_count,
                Tube.building_id,
                Site.building_id,
                LabResult.id,
                LabResult.reported_at,
                LabResult.outcome,
            )
            .join(Site, Site.id == Tube.site_id)
            .join(LabResult, LabResult.tube_id == Tube.id)
            .where(member_of(Tube.id, part, dialect=dialect))
        ):
            info[row[0]] = _Facts(
                district_id=row[1],
                round_day=row[2],
                collected_at=row[3],
                site_id=row[4],
                member_count=row[5],
                building_id=row[6] or row[7],
                lab_result_id=row[8],
                reported_at=row[9],
                outcome=row[10],
            )
    positives = [t for t in wanted if info[t].outcome == "positive"]
    members = members_of(session, positives)
    person_ids = sorted({p for ps in members.values() for p in ps})
    places: dict[int, tuple[int, int]] = {}
    persons = people_service.person_keys()
    query = select(persons.c.id, persons.c.residence_district_id, persons.c.current_district_id)
    for part in chunks(person_ids):
        for pid, residence, current in session.execute(
            query.where(member_of(persons.c.id, part, dialect=dialect))
        ):
            places[pid] = (residence, current)
    auth_service.record_audit(
        session,
        principal=SYSTEM,
        action="read",
        entity="person",
        entity_ids=person_ids,
        reason="positive tube: holds, retests and referrals",
    )
    by_day: dict[date, list[pooling.TubeOutcome]] = defaultdict(list)
    for tube_id in wanted:
        facts = info[tube_id]
        by_day[facts.round_day].append(
            pooling.TubeOutcome(
                tube_id=tube_id,
                outcome=facts.outcome,
                sampling_district_id=facts.district_id,
                members=tuple(
                    pooling.Member(pid, *places[pid])
                    for pid in members.get(tube_id, ())
                    if pid in places
                ),
            )
        )
    result = pooling.FanOut()
    for day, outcomes in by_day.items():
        rules = policy_in_force(session, day=day).screening.positive_pool
        part_result = pooling.fan_out(outcomes, rules=rules)
        result.holds += part_result.holds
        result.retests += part_result.retests
        result.case_candidates += part_result.case_candidates
        result.referral_needs += part_result.referral_needs
        result.resample_tube_ids += part_result.resample_tube_ids
    _write(session, result, info=info, now=now, report=report)
    report.pooled_positive = sum(1 for t in positives if info[t].member_count > 1)


def _write(
    session: Session,
    fan: pooling.FanOut,
    *,
    info: dict[int, _Facts],
    now: datetime,
    report: ResultBatchReport,
) -> None:
    report.holds = bulk_insert(
        session,
        table_of(Hold),
        ["person_id", "tube_id", "district_id", "reason", "held_from", "created_at", "updated_at"],
        [
            (
                h.person_id,
                h.tube_id,
                h.district_id,
                "pooled_positive",
                info[h.tube_id].reported_at,
                now,
                now,
            )
            for h in fan.holds
        ],
        skip_conflicts_on=["person_id", "tube_id"],
    )
    report.retests = bulk_insert(
        session,
        table_of(RetestTask),
        ["person_id", "source_tube_id", "district_id", "status", "created_at", "updated_at"],
        [(r.person_id, r.source_tube_id, r.district_id, "open", now, now) for r in fan.retests],
        skip_conflicts_on=["person_id", "source_tube_id"],
    )
    report.case_candidates = bulk_insert(
        session,
        table_of(CaseCandidate),
        [
            "person_id",
            "tube_id",
            "lab_result_id",
            "sampled_at",
            "detected_at",
            "sampling_district_id",
            "sampling_building_id",
            "created_at",
        ],
        [
            (
                c.person_id,
                c.tube_id,
                f.lab_result_id,
                f.collected_at,
                f.reported_at,
                f.district_id,
                f.building_id,
                now,
            )
            for c, f in ((c, info[c.tube_id]) for c in fan.case_candidates)
        ],
        skip_conflicts_on=["person_id", "tube_id"],
    )
    report.referral_needs = bulk_insert(
        session,
        table_of(ReferralNeed),
        ["person_id", "reason", "tube_id", "from_district_id", "to_district_id", "created_at"],
        [
            (n.person_id, n.reason, n.tube_id, n.from_district_id, n.to_district_id, now)
            for n in fan.referral_needs
        ],
        skip_conflicts_on=["person_id", "tube_id", "reason"],
    )
    report.resample_tasks = bulk_insert(
        session,
        table_of(ResampleTask),
        ["tube_id", "district_id", "site_id", "member_count", "status", "created_at", "updated_at"],
        [
            (t, info[t].district_id, info[t].site_id, info[t].member_count, "open", now, now)
            for t in fan.resample_tube_ids
        ],
        skip_conflicts_on=["tube_id"],
    )


def complete_retests(
    session: Session,
    *,
    single_tube_ids: Sequence[int],
    batch_id: int,
    now: datetime,
    report: ResultBatchReport,
) -> None:
    """Single tubes of this batch that are retests: close the task, end the hold.

    It starts from the batch's single tubes (`single_tube_ids`: applied, not invalid), so a
    batch of pools costs nothing however many retests are open on a day with many positives.
    """
    if not single_tube_ids:
        return
    dialect = dialect_of(session)
    tubes_of: dict[int, list[int]] = defaultdict(list)
    for tube_id, persons in members_of(session, single_tube_ids).items():
        for pid in persons:
            tubes_of[pid].append(tube_id)
    singles = {}
    for part in chunks(list(single_tube_ids)):
        for tube_id, collected_at, outcome, reported_at in session.execute(
            select(Tube.id, Tube.collected_at, LabResult.outcome, LabResult.reported_at)
            .join(LabResult, LabResult.tube_id == Tube.id)
            .where(member_of(Tube.id, part, dialect=dialect))
        ):
            singles[tube_id] = (collected_at, outcome, reported_at)
    # Retests set off by this very batch cannot have been swabbed yet: they are left out.
    tasks: list[Row[int, int, int, datetime]] = []
    for part in chunks(sorted(tubes_of)):
        tasks.extend(
            session.execute(
                select(
                    RetestTask.id,
                    RetestTask.person_id,
                    RetestTask.source_tube_id,
                    Tube.collected_at,
                )
                .join(Tube, Tube.id == RetestTask.source_tube_id)
                .join(LabResult, LabResult.tube_id == RetestTask.source_tube_id)
                .where(
                    RetestTask.status == "open",
                    LabResult.batch_id != batch_id,
                    member_of(RetestTask.person_id, part, dialect=dialect),
                )
            ).all()
        )
    for task_id, person_id, source_tube_id, source_collected in tasks:
        found = sorted(
            (singles[t][0], t)
            for t in tubes_of.get(person_id, ())
            if t in singles and singles[t][0] > source_collected
        )
        if not found:
            continue
        tube_id = found[0][1]
        _, outcome, reported_at = singles[tube_id]
        session.execute(
            update(RetestTask)
            .where(RetestTask.id == task_id)
            .values(status="done", retest_tube_id=tube_id, outcome=outcome, updated_at=now)
        )
        report.retests_done += 1
        holds = session.execute(
            select(Hold.id, Hold.held_from).where(
                Hold.person_id == person_id,
                Hold.tube_id == source_tube_id,
                Hold.released_at.is_(None),
            )
        ).all()
        for hold_id, held_from in holds:
            session.execute(
                update(Hold)
                .where(Hold.id == hold_id)
                .values(
                    released_at=max(held_from, reported_at),
                    release_reason=f"{outcome}_retest",
                    updated_at=now,
                )
            )
            report.holds_released += 1
