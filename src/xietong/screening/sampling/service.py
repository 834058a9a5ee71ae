"""Registering tubes and the persons swabbed into them, in bulk (part of the screening service).

Ten million memberships a day arrive as files and API batches. They are read in chunks that
end on a tube boundary (`tube_rows.py` parses them column by column); each chunk is checked
against look-ups done in bulk — persons known and already sampled this round as NumPy bitmaps for
large inputs, one probe query per chunk for small ones (`members.py`) — and written straight into
the tables (binary COPY on PostgreSQL, laid out by NumPy), with tube ids taken from the sequence
beforehand so that nothing is read back. The write of a chunk overlaps the reading of the next.
Memory stays flat whatever the size. The caller's transaction makes a file all or nothing;
re-sending it changes nothing.

Rules per record: a known site (in the caller's district for a district user) and person; a
pool size the policy allows and that the tube's members do not exceed; the same tube attributes
on every row of a tube; a person in at most one open tube (no result yet) per round, the round
being the local day of collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.csvfiles import RejectsWriter
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.principal import Principal
from xietong.people import identity
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.screening.models import LabResult, Membership, ResampleTask, Site, Tube
from xietong.screening.parsing import Chunk, Columns, Header, Records
from xietong.screening.sampling.members import PersonIndex, first_occurrence, rank_within
from xietong.screening.sampling.tube_rows import (
    TUBE_COLUMNS,
    Draft,
    Rows,
    TubeReader,
    last_tube_start,
)
from xietong.screening.schemas import TubeBatchReport
from xietong.storage.bulk_sql import (
    allocate_ids,
    chunks,
    collector_paused,
    copy_columns,
    dialect_of,
    index_scans,
    insert_rows,
    member_of,
    rowcount,
    summarize_block_ranges,
    table_of,
    take_write_lock,
)

CHUNK_ROWS = 50_000
# Above this share of the person table, loading bitmaps once beats probing per chunk.
BITMAP_SHARE = 0.05
_TUBE_WRITE = [
    "id",
    "code",
    "site_id",
    "district_id",
    "building_id",
    "kind",
    "pool_size",
    "member_count",
    "collected_at",
    "round_day",
    "replaces_tube_id",
    "created_at",
]
_PID_BITS = 44  # person ids below 2^44; the rest of an int64 key holds a tube or round index


@dataclass
class _Tally:
    rows_read: int = 0
    tubes_added: int = 0
    members_added: int = 0
    already_present: int = 0
    rejected: int = 0
    resamples_done: int = 0
    errors: list[RowError] = field(default_factory=list)


class TubeIntake:
    """One call's worth of tube registration: `feed` it chunks of rows, then `finish()`.

    While the database writes one chunk (a background thread that only waits on it), the next
    chunk is read and parsed; every other use of the session waits for that write to end.
    """

    def __init__(
        self,
        session: Session,
        *,
        principal: Principal,
        header: Header,
        label: Callable[[int], str],
        tz: str,
        now: datetime,
        protector: PersonalDataProtector | None,
        load_valid: bool,
        rejects_path: Path | None,
        preload: bool,
    ) -> None:
        self.session = session
        self.principal = principal
        self.header = header
        self.label = label
        self.tz = tz
        self.now = now
        self.protector = protector
        self.load_valid = load_valid
        self.dialect = dialect_of(session)
        self.persons = PersonIndex(session, preload=preload)
        self.tally = _Tally()
        self.rejects = RejectsWriter(rejects_path, TUBE_COLUMNS) if rejects_path else None
        sites = {
            code: (site_id, district_id, building_id)
            for code, site_id, district_id, building_id in session.execute(
                select(Site.code, Site.id, Site.district_id, Site.building_id).where(Site.active)
            )
        }
        self.reader = TubeReader(
            header=header,
            sites=sites,
            district_id=principal.district_id,
            tz=tz,
            now=now,
            building_index=lambda: areas_service.building_index(session),
        )
        self._names = [n for n, _ in sorted(header.index.items(), key=lambda kv: kv[1])]
        self._writing: Future[int] | None = None
        self._writer: ThreadPoolExecutor | None = None
        take_write_lock(session, table_of(Tube))

    # --- reading -------------------------------------------------------------------------------

    def feed(
        self, chunks: Iterator[Chunk], *, progress: Callable[[int], None] | None = None
    ) -> None:
        """Check and write every chunk. A chunk is held until the next one arrives, so that
        the rows of its last tube, which may go on in the next chunk, are checked together."""
        code_at = self.header.index["tube_code"]
        assert code_at is not None
        held: Chunk | None = None
        with (
            collector_paused(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tube-writer") as writer,
        ):
            self._writer = writer
            try:
                for lines, rows in chunks:
                    if held is not None:
                        held_lines, held_rows = held
                        cut = last_tube_start(held_rows, code_at)
                        self._chunk(held_lines[:cut], held_rows[:cut])
                        lines = np.concatenate([held_lines[cut:], lines])
                        rows = held_rows[cut:] + rows
                        if progress is not None:
                            progress(self.tally.rows_read)
                    held = (lines, rows)
                if held is not None:
                    self._chunk(*held)
            finally:
                self._settle()
                self._writer = None
        if progress is not None:
            progress(self.tally.rows_read)

    def finish(self) -> TubeBatchReport:
        summarize_block_ranges(self.session, "ix_screening_membership_tube")
        if self.rejects is not None:
            self.rejects.close()
        if self.tally.errors and not self.load_valid:
            raise ValidationFailed(
                errors=self.tally.errors, summary="tubes refused; nothing was written"
            )
        t = self.tally
        return TubeBatchReport(
            rows_read=t.rows_read,
            tubes_added=t.tubes_added,
            members_added=t.members_added,
            members_already_present=t.already_present,
            rows_rejected=t.rejected,
            resample_tasks_done=t.resamples_done,
            rejects_file=str(self.rejects.path) if self.rejects and self.rejects.count else None,
        )

    def _settle(self) -> None:
        """Wait for the chunk being written (and raise what went wrong there)."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            self.tally.resamples_done += writing.result()

    def _reject(self, line: int, row: list[str], errors: list[RowError]) -> None:
        self.tally.errors.extend(errors)
        self.tally.rejected += 1
        if self.rejects is not None:
            self.rejects.write(line, dict(zip(self._names, row, strict=False)), errors)

    # --- one chunk -----------------------------------------------------------------------------

    def _chunk(self, lines: np.ndarray, rows: Records) -> None:
        width = self.header.width
        if not isinstance(rows, Columns) and set(map(len, rows)) != {width}:
            kept = [k for k, row in enumerate(rows) if len(row) == width]
            for k, row in enumerate(rows):
                if len(row) != width and any(v.strip() for v in row):
                    self.tally.rows_read += 1
                    where = self.label(int(lines[k]))
                    self._reject(
                        int(lines[k]), row, [RowError(where, "record", "wrong number of fields")]
                    )
            lines, rows = lines[kept], [rows[k] for k in kept]
        if not rows:
            return
        self.tally.rows_read += len(rows)
        chunk = Rows(lines=np.asarray(lines, dtype=np.int64), rows=rows, label=self.label)
        drafts = self.reader.drafts(chunk)
        chunk.pids = self.reader.person_ids(chunk)
        self._settle()  # from here on the session is this thread's
        # The rows loaded so far in this transaction have no statistics yet: probe by index.
        with index_scans(self.session):
            self._resolve_existing(drafts, chunk)
            self._check_members(drafts, chunk)
        accepted = np.flatnonzero(chunk.ok)
        tix, pids = chunk.tix[accepted], chunk.pids[accepted]
        counts = np.bincount(tix, minlength=len(drafts))
        is_new = np.fromiter((d.tube_id is None for d in drafts), dtype=bool, count=len(drafts))
        self.tally.tubes_added += int((is_new & (counts > 0)).sum())
        self.tally.members_added += int(accepted.size)
        assert self._writer is not None
        self._writing = self._writer.submit(self._write, drafts, tix, pids, counts)
        for k in sorted(chunk.bad):
            self._reject(int(chunk.lines[k]), rows[k], chunk.bad[k])

    def _resolve_existing(self, drafts: Sequence[Draft], chunk: Rows) -> None:
        """Tubes already registered: same attributes required; members may only be added while
        the tube has no result. Rows of a tube with an error are refused with it."""
        by_code = {d.code: d for d in drafts if not d.errors}
        for part in chunks(list(by_code)):
            rows = self.session.execute(
                select(
                    Tube.code,
                    Tube.id,
                    Tube.site_id,
                    Tube.collected_at,
                    Tube.pool_size,
                    Tube.kind,
                    Tube.member_count,
                    LabResult.id,
                )
                .outerjoin(LabResult, LabResult.tube_id == Tube.id)
                .where(member_of(Tube.code, part, dialect=self.dialect))
            )
            for code, tube_id, site_id, collected_at, pool_size, kind, members, result in rows:
                draft = by_code[code]
                if (site_id, collected_at, pool_size, kind) != (
                    draft.site_id,
                    draft.collected_at,
                    draft.pool_size,
                    draft.kind,
                ):
                    draft.errors.append(
                        (
                            "tube_code",
                            "tube already registered with another site, time, pool size or kind",
                            code,
                        )
                    )
                    continue
                draft.tube_id, draft.existing_members = tube_id, members
                draft.closed = result is not None
        failed = np.asarray([bool(d.errors) for d in drafts], dtype=bool)[chunk.tix]
        for k in np.flatnonzero(failed & chunk.ok).tolist():
            for name, reason, value in drafts[chunk.tix[k]].errors:
                chunk.bad.setdefault(k, []).append(RowError(chunk.where(k), name, reason, value))
        chunk.ok[failed] = False
        self._match_national_ids(chunk)

    def _match_national_ids(self, chunk: Rows) -> None:
        """Rows naming their person by national ID: matched through its keyed hash in bulk."""
        numbers, chunk.numbers = chunk.numbers, {}
        if not numbers:
            return
        if self.protector is None:
            raise ValueError("protector: needed to match national IDs")
        hashed: dict[bytes, list[int]] = {}
        invalid: dict[int, str] = {}
        for k, text in numbers.items():
            try:
                number = identity.parse(text).number
            except identity.InvalidNationalId as exc:
                invalid[k] = str(exc)
                continue
            hashed.setdefault(self.protector.hash_id(number), []).append(k)
        mask = np.zeros(len(chunk.rows), dtype=bool)
        mask[list(invalid)] = True
        chunk.refuse(mask, lambda k: ("national_id", invalid[k]))
        keys = people_service.person_keys()
        query = select(keys.c.id_hash, keys.c.id)
        for part in chunks(list(hashed), 5_000):
            for key, pid in self.session.execute(query.where(keys.c.id_hash.in_(part))):
                chunk.pids[hashed[key]] = pid

    def _check_members(self, drafts: Sequence[Draft], chunk: Rows) -> None:
        pids, tix, ok, refuse = chunk.pids, chunk.tix, chunk.ok, chunk.refuse
        known = self.persons.known(pids)
        by_number = chunk.by_number
        refuse(~known, lambda k: ("national_id" if by_number[k] else "person_id", "unknown person"))
        safe = np.where(pids < 0, 0, pids)
        # The same person twice in one tube.
        first = first_occurrence((tix << _PID_BITS) | safe, ok)
        refuse(
            first != np.arange(pids.size),
            lambda k: ("person_id", f"already in this tube ({chunk.where(first[k])})"),
        )
        # The same person in two tubes of one round within this chunk.
        rounds = sorted({d.round_day for d in drafts if d.round_day is not None})
        index_of: dict[date | None, int] = {day: r for r, day in enumerate(rounds)}
        round_of_tube = np.fromiter(
            (index_of.get(d.round_day, 0) for d in drafts), dtype=np.int64, count=len(drafts)
        )
        rix = round_of_tube[tix]
        first = first_occurrence((rix << _PID_BITS) | safe, ok)
        refuse(
            first != np.arange(pids.size),
            lambda k: (
                "person_id",
                f"already in tube {drafts[int(tix[first[k]])].code} of this round "
                f"({chunk.where(first[k])})",
            ),
        )
        # Against tubes already written (earlier chunks and earlier deliveries).
        present = np.zeros(pids.size, dtype=bool)
        for r, day in enumerate(rounds):
            rows = np.flatnonzero(ok & (rix == r))
            maybe = rows[self.persons.maybe_sampled(day, pids[rows])]
            if maybe.size:
                self._against_database(day, maybe, drafts, present, chunk)
        self.tally.already_present += int((present & ok).sum())
        ok &= ~present
        # Closed tubes take no new members; a tube never exceeds its pool size.
        closed = np.asarray([d.closed for d in drafts], dtype=bool)
        refuse(
            closed[tix],
            lambda k: ("tube_code", "the tube has a result already: no members can be added"),
        )
        room = np.asarray([d.pool_size - d.existing_members for d in drafts], dtype=np.int64)
        rank = rank_within(tix, ok)
        refuse(
            rank >= room[tix],
            lambda k: (
                "tube_code",
                f"over the tube's pool size of {drafts[int(tix[k])].pool_size}",
            ),
        )

    def _against_database(
        self,
        day: date,
        rows: np.ndarray,
        drafts: Sequence[Draft],
        present: np.ndarray,
        chunk: Rows,
    ) -> None:
        pids = chunk.pids
        tubes_of: dict[int, list[tuple[str, bool]]] = {}
        for part in chunks(np.unique(pids[rows]).tolist()):
            for pid, code, closed in self.session.execute(
                select(Membership.person_id, Tube.code, LabResult.id.is_not(None))
                .join(Tube, Tube.id == Membership.tube_id)
                .outerjoin(LabResult, LabResult.tube_id == Membership.tube_id)
                .where(
                    Membership.round_day == day,
                    member_of(Membership.person_id, part, dialect=self.dialect),
                )
            ):
                tubes_of.setdefault(pid, []).append((code, bool(closed)))
        clash = np.zeros(pids.size, dtype=bool)
        other: dict[int, str] = {}
        for k in rows.tolist():
            code = drafts[int(chunk.tix[k])].code
            for other_code, closed in tubes_of.get(int(pids[k]), ()):
                if other_code == code:
                    present[k] = True
                elif not closed:
                    clash[k] = True
                    other[k] = other_code
        chunk.refuse(
            clash & ~present,
            lambda k: ("person_id", f"already in open tube {other[k]} of this round"),
        )

    # --- writing (on the writer thread) -------------------------------------------------------

    def _write(
        self, drafts: Sequence[Draft], tix: np.ndarray, pids: np.ndarray, counts: np.ndarray
    ) -> int:
        """Write a checked chunk: new tubes, grown tubes, memberships; return resamples done."""
        new = [t for t, d in enumerate(drafts) if d.tube_id is None and counts[t] > 0]
        ids = allocate_ids(self.session, table_of(Tube), len(new))
        fresh = [drafts[t] for t in new]
        for draft, tube_id in zip(fresh, ids, strict=True):
            draft.tube_id = tube_id
        replaced = self._replaced_tubes(fresh)
        members = counts[new].tolist()
        insert_rows(
            self.session,
            table_of(Tube),
            _TUBE_WRITE,
            [
                (
                    d.tube_id,
                    d.code,
                    d.site_id,
                    d.district_id,
                    d.building_id,
                    d.kind,
                    d.pool_size,
                    n,
                    d.collected_at,
                    d.round_day,
                    replaced.get(d.replaces) if replaced else None,
                    self.now,
                )
                for d, n in zip(fresh, members, strict=True)
            ],
        )
        for t, d in enumerate(drafts):
            if d.tube_id is not None and d.existing_members and counts[t] > 0:
                self.session.execute(
                    update(Tube)
                    .where(Tube.id == d.tube_id)
                    .values(member_count=Tube.member_count + int(counts[t]))
                )
        order = np.argsort(tix, kind="stable")
        tix, pids = tix[order], pids[order]
        days = np.asarray([d.round_day or date.min for d in drafts], dtype="datetime64[D]")[tix]
        copy_columns(
            self.session,
            table_of(Membership),
            ["round_day", "person_id", "tube_id", "district_id"],
            [
                days,
                pids,
                np.asarray([d.tube_id or 0 for d in drafts], dtype=np.int64)[tix],
                np.asarray([d.district_id for d in drafts], dtype=np.int64)[tix],
            ],
        )
        for day in np.unique(days).tolist():
            self.persons.mark_sampled(day, pids[days == np.datetime64(day)])
        return self._close_resamples(fresh, replaced) if replaced else 0

    def _replaced_tubes(self, drafts: Sequence[Draft]) -> dict[str, int]:
        codes = sorted({d.replaces for d in drafts if d.replaces})
        if not codes:
            return {}
        return dict(
            self.session.execute(
                select(Tube.code, Tube.id).where(member_of(Tube.code, codes, dialect=self.dialect))
            ).all()
        )

    def _close_resamples(self, fresh: Sequence[Draft], replaced: dict[str, int]) -> int:
        done = 0
        for draft in fresh:
            old = replaced.get(draft.replaces)
            if old is None:
                continue
            done += rowcount(
                self.session.execute(
                    update(ResampleTask)
                    .where(ResampleTask.tube_id == old, ResampleTask.status == "open")
                    .values(status="done", replacement_tube_id=draft.tube_id, updated_at=self.now)
                )
            )
        return done
