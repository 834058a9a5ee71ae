"""Registering tubes and the persons swabbed into them, in bulk (part of the testing service).

Ten million memberships a day arrive as files and API batches. They are read in chunks that
end on a tube boundary; each chunk is checked against look-ups done in bulk — persons known and
already sampled this round as NumPy bitmaps for large inputs, one probe query per chunk for small
ones — and written with `bulk_insert` straight into the tables (binary COPY on PostgreSQL), with
ids taken from the sequence beforehand so that no row is read back. Memory stays flat whatever
the size. The caller's transaction makes a file all or nothing; re-sending it changes nothing.

Rules per record: a known site (in the caller's district for a district user) and person; a
pool size the policy allows and that the tube's members do not exceed; the same tube attributes
on every row of a tube; a person in at most one open tube (no result yet) per round, the round
being the local day of collection.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.clock import local_day
from xietong.core.csvfiles import RejectsWriter
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.principal import SYSTEM, Principal
from xietong.people import identity
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.policy.rules import MAX_POOL_SIZE
from xietong.storage.bulk import bulk_insert
from xietong.testing.lookups import (
    allocate_ids,
    chunks,
    collector_paused,
    copy_columns,
    dialect_of,
    fetch_int_column,
    member_of,
    rowcount,
    summarize_block_ranges,
    table_of,
    take_write_lock,
)
from xietong.testing.models import TUBE_KINDS, LabResult, Membership, ResampleTask, Site, Tube
from xietong.testing.records import CLOCK_SKEW, BadValue, Chunk, Header, parse_instant, parse_int
from xietong.testing.schemas import TubeBatchReport

TUBE_COLUMNS = [
    "tube_code",
    "site_code",
    "collected_at",
    "pool_size",
    "person_id",
    "national_id",
    "kind",
    "building_code",
    "replaces_tube_code",
]
REQUIRED = TUBE_COLUMNS[:4]
ONE_OF = (("person_id", "national_id"),)
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
_SEEN_LIMIT = 50_000
_PID_BITS = 44  # person ids below 2^44; the rest of an int64 key holds a tube or round index


_ATTRIBUTES = (
    "site_code",
    "collected_at",
    "pool_size",
    "kind",
    "building_code",
    "replaces_tube_code",
)


@dataclass(frozen=True)
class _Problem:
    reason: str
    value: str | None


@dataclass
class _Template:
    """What the tubes sharing a site, pool size, kind and building have in common."""

    errors: list[tuple[str, str, str | None]] = field(default_factory=list)
    site_id: int = 0
    district_id: int = 0
    building_id: int | None = None
    kind: str = "screening"
    pool_size: int = 0
    replaces: str = ""


@dataclass(slots=True)
class _Draft:
    """A tube as the rows of one chunk describe it (from its first row)."""

    code: str
    first_line: int
    errors: list[tuple[str, str, str | None]] = field(default_factory=list)
    site_id: int = 0
    district_id: int = 0
    building_id: int | None = None
    kind: str = "screening"
    pool_size: int = 0
    collected_at: datetime | None = None
    round_day: date | None = None
    replaces: str = ""
    # Filled once the database has been asked about the code.
    tube_id: int | None = None
    existing_members: int = 0
    closed: bool = False


class PersonIndex:
    """Which persons exist and who is already in a tube of a round.

    With `preload`, both are NumPy bitmaps indexed by person id, loaded once per call (about a
    second per ten million rows) and kept up to date as chunks are written; otherwise each chunk
    asks the database about its own persons.
    """

    def __init__(self, session: Session, *, preload: bool) -> None:
        self._session = session
        self._dialect = dialect_of(session)
        self.preload = preload
        self._known: np.ndarray | None = None
        self._sampled: dict[date, np.ndarray] = {}

    def _known_bits(self) -> np.ndarray:
        if self._known is None:
            ids = fetch_int_column(
                self._session, people_service.visible_persons(SYSTEM).with_only_columns(Person.id)
            )
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
        query = people_service.visible_persons(SYSTEM).with_only_columns(Person.id)
        for part in chunks(wanted):
            present.update(
                self._session.scalars(
                    query.where(member_of(Person.id, part, dialect=self._dialect))
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


@dataclass
class _Tally:
    rows_read: int = 0
    tubes_added: int = 0
    members_added: int = 0
    already_present: int = 0
    rejected: int = 0
    resamples_done: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Rows:
    """One chunk under check: its records and line numbers, each record's tube and person, and
    what has been refused so far (with the reasons, by record index)."""

    lines: np.ndarray
    rows: list[list[str]]
    label: Callable[[int], str]
    ok: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    bad: dict[int, list[RowError]] = field(default_factory=dict)
    tix: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    by_number: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.ok = np.ones(len(self.rows), dtype=bool)
        self.by_number = np.zeros(len(self.rows), dtype=bool)

    def where(self, k: int) -> str:
        return self.label(int(self.lines[k]))

    def refuse(self, mask: np.ndarray, reason: Callable[[int], tuple[str, str]]) -> None:
        """Reject the records of `mask` not rejected yet, each with its field and reason."""
        for k in np.flatnonzero(mask & self.ok).tolist():
            name, text = reason(k)
            self.bad.setdefault(k, []).append(RowError(self.where(k), name, text))
        self.ok[mask] = False


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
        self.sites = {
            code: (site_id, district_id, building_id)
            for code, site_id, district_id, building_id in session.execute(
                select(Site.code, Site.id, Site.district_id, Site.building_id).where(Site.active)
            )
        }
        self._buildings: dict[str, areas_service.BuildingRef] | None = None
        self._static_names = [
            name for name in _ATTRIBUTES if name != "collected_at" and header.at(name) is not None
        ]
        self._static_of = (
            operator.itemgetter(*[header.index[n] for n in self._static_names])
            if len(self._static_names) > 1
            else None
        )
        self._templates: dict[Any, _Template] = {}
        self._collected_at = header.index["collected_at"]
        self._zone = ZoneInfo(tz)
        self._latest = now + CLOCK_SKEW
        self._names = [n for n, _ in sorted(header.index.items(), key=lambda kv: kv[1])]
        self._i = {name: header.at(name) for name in TUBE_COLUMNS}
        self._writing: Future[int] | None = None
        self._numbers: dict[int, str] = {}
        self._writer: ThreadPoolExecutor | None = None
        take_write_lock(session, table_of(Tube))

    # --- reading -------------------------------------------------------------------------------

    def feed(
        self, chunks: Iterator[Chunk], *, progress: Callable[[int], None] | None = None
    ) -> None:
        """Check and write every chunk. A chunk is held until the next one arrives, so that
        the rows of its last tube, which may go on in the next chunk, are checked together."""
        code_at = self._i["tube_code"]
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
                        cut = _last_tube_start(held_rows, code_at)
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
        summarize_block_ranges(self.session, "ix_testing_membership_tube")
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

    def _strings(self, rows: list[list[str]], name: str) -> np.ndarray:
        at = self._i[name]
        if at is None:
            return np.full(len(rows), "")
        return np.char.strip(np.array([row[at] for row in rows]))

    # --- one chunk -----------------------------------------------------------------------------

    def _chunk(self, lines: np.ndarray, rows: list[list[str]]) -> None:
        width = self.header.width
        if set(map(len, rows)) != {width}:
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
        chunk = _Rows(lines=np.asarray(lines, dtype=np.int64), rows=rows, label=self.label)
        drafts = self._drafts(chunk)
        chunk.pids = self._person_ids(chunk)
        self._settle()  # from here on the session is this thread's
        self._resolve_existing(drafts, chunk)
        self._check_members(drafts, chunk)
        accepted = np.flatnonzero(chunk.ok)
        tix, pids = chunk.tix[accepted], chunk.pids[accepted]
        counts = np.bincount(tix, minlength=len(drafts))
        self.tally.tubes_added += sum(
            1 for t, d in enumerate(drafts) if d.tube_id is None and counts[t] > 0
        )
        self.tally.members_added += int(accepted.size)
        assert self._writer is not None
        self._writing = self._writer.submit(self._write, drafts, tix, pids, counts)
        for k in sorted(chunk.bad):
            self._reject(int(chunk.lines[k]), rows[k], chunk.bad[k])

    def _drafts(self, chunk: _Rows) -> list[_Draft]:
        """The chunk's tubes in order of appearance (parsed from their first rows), each row's
        tube in `chunk.tix`; rows that disagree with their tube's first row are refused."""
        rows, i = chunk.rows, self._i
        code_at = i["tube_code"]
        assert code_at is not None
        codes = list(map(operator.itemgetter(code_at), rows))
        changes = np.fromiter(
            map(operator.ne, codes[1:], codes[:-1]), dtype=bool, count=len(rows) - 1
        )
        starts = np.r_[0, np.flatnonzero(changes) + 1]
        lengths = np.diff(np.r_[starts, len(rows)])
        tube_of: dict[str, int] = {}
        first_row: list[int] = []
        segment_tube = []
        for start in starts.tolist():
            code = codes[start].strip()
            t = tube_of.get(code)
            if t is None:
                t = tube_of[code] = len(first_row)
                first_row.append(start)
            segment_tube.append(t)
        chunk.tix = np.repeat(np.asarray(segment_tube, dtype=np.int64), lengths)
        present = [name for name in _ATTRIBUTES if i[name] is not None]
        key_of = operator.itemgetter(*[i[name] for name in present])
        keys = list(map(key_of, rows))
        inside = np.fromiter(map(operator.ne, keys[1:], keys[:-1]), dtype=bool, count=len(rows) - 1)
        if (inside & ~changes).any() or len(first_row) < len(starts):
            # Some tube's rows disagree or come apart: compare each row with its tube's first.
            first_keys = [keys[r] for r in first_row]
            differs = np.fromiter(
                map(operator.ne, keys, [first_keys[t] for t in chunk.tix.tolist()]),
                dtype=bool,
                count=len(rows),
            )
            chunk.refuse(
                differs,
                lambda k: (
                    "tube_code",
                    "site, time, pool size or kind differ from the tube's first row "
                    f"({chunk.where(first_row[chunk.tix[k]])})",
                ),
            )
        lines = chunk.lines[first_row].tolist()
        firsts = [rows[r] for r in first_row]
        return [
            self._draft(code, line, row)
            for code, line, row in zip(tube_of, lines, firsts, strict=True)
        ]

    def _draft(self, code: str, line: int, row: list[str]) -> _Draft:
        """A tube from its first row. Site, pool size, kind and building repeat from tube to
        tube: each distinct combination is checked once per call; the time is read per tube."""
        static = self._static_of(row) if self._static_of is not None else ()
        template = self._templates.get(static)
        if template is None:
            if len(self._templates) >= _SEEN_LIMIT:
                self._templates.clear()
            template = self._templates[static] = self._template(static)
        draft = _Draft(
            code=code,
            first_line=line,
            errors=list(template.errors),
            site_id=template.site_id,
            district_id=template.district_id,
            building_id=template.building_id,
            kind=template.kind,
            pool_size=template.pool_size,
            replaces=template.replaces,
        )
        if not code:
            draft.errors.append(("tube_code", "required value is empty", None))
        elif len(code) > 40:
            draft.errors.append(("tube_code", "longer than 40 characters", code))
        when = self._when(row[self._collected_at])
        if isinstance(when, _Problem):
            draft.errors.append(("collected_at", when.reason, when.value))
        else:
            draft.collected_at, draft.round_day = when
        return draft

    def _template(self, static: tuple[str, ...]) -> _Template:
        template = _Template()
        for name, text in zip(self._static_names, static, strict=True):
            found = self._attribute(name, text.strip())
            if isinstance(found, _Problem):
                template.errors.append((name, found.reason, found.value))
            elif name == "site_code":
                template.site_id, template.district_id, template.building_id = found
            elif name == "pool_size":
                template.pool_size = found
            elif name == "kind":
                template.kind = found
            elif name == "building_code":
                template.building_id = found or template.building_id
            else:
                template.replaces = found
        return template

    def _when(self, text: str) -> tuple[datetime, date] | _Problem:
        """The instant of collection (UTC) and its round, the local day."""
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            try:
                at = datetime.fromisoformat(text.strip())
            except ValueError:
                return _Problem(
                    "not a date and time (ISO 8601, e.g. 2022-11-15T08:30:00+08:00)", text
                )
        if at.tzinfo is None:
            at = at.replace(tzinfo=self._zone)
        if at > self._latest:
            return _Problem("lies in the future", text)
        return at.astimezone(UTC), at.astimezone(self._zone).date()

    def _attribute(self, name: str, text: str) -> Any:
        """A tube attribute's value, or the problem with it."""
        if name == "site_code":
            site = self.sites.get(text)
            if site is None:
                return _Problem("unknown sampling site", text)
            if self.principal.district_id not in (None, site[1]):
                return _Problem("the site is outside your district", text)
            return site
        if name == "collected_at":
            try:
                instant = parse_instant(text, tz=self.tz, now=self.now)
            except BadValue as exc:
                return _Problem(str(exc), text)
            return instant, local_day(instant, self.tz)
        if name == "pool_size":
            try:
                return parse_int(text, low=1, high=MAX_POOL_SIZE)
            except BadValue as exc:
                return _Problem(str(exc), text)
        if name == "kind":
            kind = text or "screening"
            return (
                kind if kind in TUBE_KINDS else _Problem(f"must be one of {list(TUBE_KINDS)}", text)
            )
        if name == "building_code":
            if not text:
                return 0
            if self._buildings is None:
                self._buildings = areas_service.building_index(self.session)
            building = self._buildings.get(text)
            return _Problem("unknown building", text) if building is None else building.id
        return text

    def _resolve_existing(self, drafts: Sequence[_Draft], chunk: _Rows) -> None:
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

    def _person_ids(self, chunk: _Rows) -> np.ndarray:
        """Each row's person id (-1 where it cannot be read); national IDs are matched later."""
        rows, i = chunk.rows, self._i
        at, number_at = i["person_id"], i["national_id"]
        numbers_given = number_at is not None and any(map(operator.itemgetter(number_at), rows))
        if at is not None and not numbers_given:
            try:  # the usual file: every row a person id
                return np.fromiter(
                    map(int, map(operator.itemgetter(at), rows)), dtype=np.int64, count=len(rows)
                )
            except ValueError:
                pass
        given = self._strings(rows, "person_id")
        numbers = self._strings(rows, "national_id")
        has_id, has_number = given != "", numbers != ""
        chunk.refuse(
            has_id & has_number, lambda k: ("person_id", "give person_id or national_id, not both")
        )
        chunk.refuse(
            ~has_id & ~has_number, lambda k: ("person_id", "a person_id or a national_id is needed")
        )
        readable = has_id & np.char.isdigit(given) & (np.char.str_len(given) <= 15)
        chunk.refuse(has_id & ~readable, lambda k: ("person_id", "not a whole number"))
        pids = np.full(len(rows), -1, dtype=np.int64)
        pids[readable] = given[readable].astype(np.int64)
        chunk.by_number = has_number & ~has_id
        self._numbers = {
            int(k): str(numbers[k]) for k in np.flatnonzero(chunk.by_number & chunk.ok)
        }
        return pids

    def _match_national_ids(self, chunk: _Rows) -> None:
        """Rows naming their person by national ID: matched through its keyed hash in bulk."""
        numbers, self._numbers = self._numbers, {}
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
        query = people_service.visible_persons(SYSTEM).with_only_columns(Person.id_hash, Person.id)
        for part in chunks(list(hashed), 5_000):
            for key, pid in self.session.execute(query.where(Person.id_hash.in_(part))):
                chunk.pids[hashed[key]] = pid

    def _check_members(self, drafts: Sequence[_Draft], chunk: _Rows) -> None:
        pids, tix, ok, refuse = chunk.pids, chunk.tix, chunk.ok, chunk.refuse
        known = self.persons.known(pids)
        by_number = chunk.by_number
        refuse(~known, lambda k: ("national_id" if by_number[k] else "person_id", "unknown person"))
        safe = np.where(pids < 0, 0, pids)
        # The same person twice in one tube.
        first = _first_occurrence((tix << _PID_BITS) | safe, ok)
        refuse(
            first != np.arange(pids.size),
            lambda k: ("person_id", f"already in this tube ({chunk.where(first[k])})"),
        )
        # The same person in two tubes of one round within this chunk.
        rounds = sorted({d.round_day for d in drafts if d.round_day is not None})
        round_of_tube = np.asarray(
            [rounds.index(d.round_day) if d.round_day else 0 for d in drafts], dtype=np.int64
        )
        rix = round_of_tube[tix]
        first = _first_occurrence((rix << _PID_BITS) | safe, ok)
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
        rank = _rank_within(tix, ok)
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
        drafts: Sequence[_Draft],
        present: np.ndarray,
        chunk: _Rows,
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
        self, drafts: Sequence[_Draft], tix: np.ndarray, pids: np.ndarray, counts: np.ndarray
    ) -> int:
        """Write a checked chunk: new tubes, grown tubes, memberships; return resamples done."""
        new = [t for t, d in enumerate(drafts) if d.tube_id is None and counts[t] > 0]
        ids = allocate_ids(self.session, table_of(Tube), len(new))
        for t, tube_id in zip(new, ids, strict=True):
            drafts[t].tube_id = tube_id
        replaced = self._replaced_tubes([drafts[t] for t in new])
        bulk_insert(
            self.session,
            table_of(Tube),
            _TUBE_WRITE,
            (
                (
                    d.tube_id,
                    d.code,
                    d.site_id,
                    d.district_id,
                    d.building_id,
                    d.kind,
                    d.pool_size,
                    int(counts[t]),
                    d.collected_at,
                    d.round_day,
                    replaced.get(d.replaces),
                    self.now,
                )
                for t, d in ((t, drafts[t]) for t in new)
            ),
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
        return self._close_resamples(drafts, new, replaced)

    def _replaced_tubes(self, drafts: Sequence[_Draft]) -> dict[str, int]:
        codes = sorted({d.replaces for d in drafts if d.replaces})
        if not codes:
            return {}
        return dict(
            self.session.execute(
                select(Tube.code, Tube.id).where(member_of(Tube.code, codes, dialect=self.dialect))
            ).all()
        )

    def _close_resamples(
        self, drafts: Sequence[_Draft], new: list[int], replaced: dict[str, int]
    ) -> int:
        done = 0
        for t in new:
            old = replaced.get(drafts[t].replaces)
            if old is None:
                continue
            done += rowcount(
                self.session.execute(
                    update(ResampleTask)
                    .where(ResampleTask.tube_id == old, ResampleTask.status == "open")
                    .values(
                        status="done", replacement_tube_id=drafts[t].tube_id, updated_at=self.now
                    )
                )
            )
        return done


def _last_tube_start(rows: list[list[str]], code_at: int) -> int:
    """Where the rows of the last tube of `rows` start (0 when they are all one tube)."""
    last = rows[-1][code_at] if len(rows[-1]) > code_at else None
    cut = len(rows)
    while cut > 0 and len(rows[cut - 1]) > code_at and rows[cut - 1][code_at] == last:
        cut -= 1
    return cut


def _first_occurrence(key: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row (among `ok` rows) with the same key."""
    first = np.arange(key.size)
    rows = np.flatnonzero(ok)
    if rows.size:
        _, start, inverse = np.unique(key[rows], return_index=True, return_inverse=True)
        first[rows] = rows[start[inverse]]
    return first


def _rank_within(groups: np.ndarray, ok: np.ndarray) -> np.ndarray:
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
