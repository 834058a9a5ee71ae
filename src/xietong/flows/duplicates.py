"""Merging two records of one person: every domain's records of the duplicate move to the
survivor in the caller's transaction, the duplicate stays marked as merged, and one audit row
names who merged whom, when and what moved. A domain that cannot take the records (two cases,
two referrals of one cause) refuses, and nothing is written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xietong.cases import merging as cases_merging
from xietong.core.principal import Principal
from xietong.people import duplicates
from xietong.people.schemas import MergeReport
from xietong.referrals import merging as referrals_merging
from xietong.screening import merging as screening_merging
from xietong.zones import merging as zones_merging

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
    return MergeReport(pair_id=pair.id, survivor_id=survivor_id, merged_id=merged_id, moved=moved)
