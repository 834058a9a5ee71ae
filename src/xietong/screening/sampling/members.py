"""Who may join a tube: the persons that exist, and who is already in a tube of a round.

Large deliveries load both as NumPy bitmaps indexed by person id (about a second per ten million
persons) and keep them up to date as chunks are written; small ones probe the database per
chunk. Plus the array helpers the checks of a chunk share.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.people import service as people_service
from xietong.screening.models import Membership
from xietong.storage.bulk_sql import chunks, dialect_of, fetch_int_column, member_of


class PersonIndex:
    """Which persons exist and who is already in a tube of a round (bitmaps with `preload`,
    else one query per chunk)."""

    def __init__(self, session: Session, *, preload: bool) -> None:
        self._session = session
        self._dialect = dialect_of(session)
        self.preload = preload
        self._known: np.ndarray | None = None
        self._sampled: dict[date, np.ndarray] = {}

    def _known_bits(self) -> np.ndarray:
        if self._known is None:
            ids = fetch_int_column(self._session, select(people_service.person_keys().c.id))
            bits = np.zeros(int(ids.max()) + 1 if ids.size else 1, dtype=bool)
            bits[ids] = True
            self._known = bits
        return self._known

    def known(self, pids: np.ndarray) -> np.ndarray:
        if self.preload:
            bits = self._known_bits()
            inside = (pids >= 0) & (pids < bits.size)
            found = np.zeros(pids.size, dtype=bool)
            found[inside] = bits[pids[inside]]
            return found
        wanted = np.unique(pids).tolist()
        present: set[int] = set()
        keys = people_service.person_keys()
        for part in chunks(wanted):
            present.update(
                self._session.scalars(
                    select(keys.c.id).where(member_of(keys.c.id, part, dialect=self._dialect))
                )
            )
        return np.isin(pids, np.fromiter(present, dtype=np.int64, count=len(present)))

    def _sampled_bits(self, day: date) -> np.ndarray:
        bits = self._sampled.get(day)
        if bits is None:
            ids = fetch_int_column(
                self._session,
                select(Membership.person_id).where(Membership.round_day == day),
            )
            bits = np.zeros(
                max(self._known_bits().size, int(ids.max()) + 1 if ids.size else 1), bool
            )
            bits[ids] = True
            self._sampled[day] = bits
        return bits

    def maybe_sampled(self, day: date, pids: np.ndarray) -> np.ndarray:
        """Rows whose person may already be in a tube of the round (all of them when probing)."""
        if not self.preload:
            return np.ones(pids.size, dtype=bool)
        bits = self._sampled_bits(day)
        inside = pids < bits.size
        found = np.zeros(pids.size, dtype=bool)
        found[inside] = bits[pids[inside]]
        return found

    def mark_sampled(self, day: date, pids: np.ndarray) -> None:
        if self.preload:
            self._sampled_bits(day)[pids] = True


def first_occurrence(key: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row (among `ok` rows) with the same key."""
    first = np.arange(key.size)
    rows = np.flatnonzero(ok)
    if rows.size:
        _, start, inverse = np.unique(key[rows], return_index=True, return_inverse=True)
        first[rows] = rows[start[inverse]]
    return first


def rank_within(groups: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """0, 1, 2, … for the `ok` rows of each group in row order (others: 0)."""
    rank = np.zeros(groups.size, dtype=np.int64)
    rows = np.flatnonzero(ok)
    if rows.size:
        g = groups[rows]
        order = np.argsort(g, kind="stable")
        sorted_g = g[order]
        starts = np.flatnonzero(np.r_[True, sorted_g[1:] != sorted_g[:-1]])
        lengths = np.diff(np.r_[starts, sorted_g.size])
        within = np.arange(sorted_g.size) - np.repeat(starts, lengths)
        rank[rows[order]] = within
    return rank
