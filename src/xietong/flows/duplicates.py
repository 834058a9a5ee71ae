"""Merging two records of one person: every domain's records of the duplicate move to the
survivor in the caller's transaction, the duplicate stays marked as merged, and one audit row
names who merged whom, when and what moved. A domain that cannot take the records (two cases,
two referrals of one cause) refuses, and nothing is written. The persons' districts and the command
centre are told through the outbox, in the same transaction, that the records moved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xietong.cases import merging as cases_merging
from xietong.core.principal import Principal
from xietong.outbox import service as outbox
from xietong.people import duplicates
from xietong.people import service as people_service
from xietong.people.schemas import MergeReport
from xietong.referrals import merging as referrals_merging
from xietong.screening import merging as screening_merging
from xietong.zones import merging as zones_merging

# Dashboards and districts holding the merged person's records listen for it.
MERGED = "people.merged"

# The domains holding records of a person, the ones that may refuse first.
_MOVERS = (
    cases_merging.move_person_records,
    referrals_merging.move_person_records,
    screening_merging.move_person_records,
    zones_merging.move_person_records,
    duplicates.move_person_records,
)


def merge_duplicates(
    session: Session, *, principal: Principal, pair_id: int, survivor_id: int, now: datetime
) -> MergeReport:
    """Merge an open pair into `survivor_id`, in the caller's transaction."""
    pair, merged_id = duplicates.merge_parties(
        session, principal=principal, pair_id=pair_id, survivor_id=survivor_id
    )
    moved: dict[str, int] = {}
    for move in _MOVERS:
        moved.update(move(session, from_person_id=merged_id, to_person_id=survivor_id))
    # The rows moved by statement: what the session holds of them is stale.
    session.expire_all()
    duplicates.record_merge(
        session, principal=principal, pair=pair, merged_id=merged_id, moved=moved, now=now
    )
    report = MergeReport(pair_id=pair.id, survivor_id=survivor_id, merged_id=merged_id, moved=moved)
    _send_merged(session, report, actor=principal.username, now=now)
    return report


def _send_merged(session: Session, report: MergeReport, *, actor: str, now: datetime) -> None:
    """Tell the districts where either person lives or stays, and the command centre, that the
    merged person's records are now the survivor's: a list they hold may name the one merged
    away. The notice names no one: ids and the counts moved."""
    persons = people_service.persons_by_id(session, ids=[report.survivor_id, report.merged_id])
    districts: list[int | None] = [
        district
        for person in persons.values()
        for district in (person.residence_district_id, person.current_district_id)
    ]
    outbox.enqueue(
        session,
        topic=MERGED,
        payload={
            "pair_id": report.pair_id,
            "survivor_id": report.survivor_id,
            "merged_id": report.merged_id,
            "moved": {table: n for table, n in report.moved.items() if n},
            "actor": actor,
        },
        audience_district_ids=[*districts, None],
        # A pair is merged once: a replay of the same decision notifies once.
        idempotency_key=f"duplicate_pair:{report.pair_id}:merged",
        now=now,
    )
