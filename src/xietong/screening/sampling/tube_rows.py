"""Reading tube files: a chunk's records grouped into tubes, each tube's site, time, pool size,
kind and building checked from its first row (each distinct combination once), persons read by id.

Column by column, so that ten million records a day cost little more than the csv module's own
reading; no database here but the building index it is handed when a record names a building.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from xietong.areas.service import BuildingRef
from xietong.core.clock import CLOCK_SKEW
from xietong.core.errors import RowError
from xietong.policy.rules import MAX_POOL_SIZE
from xietong.screening.models import TUBE_KINDS
from xietong.screening.parsing import BadValue, Columns, Header, Records, parse_int

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
SEEN_LIMIT = 50_000


ATTRIBUTES = (
    "site_code",
    "collected_at",
    "pool_size",
    "kind",
    "building_code",
    "replaces_tube_code",
)


@dataclass(frozen=True)
class Problem:
    reason: str
    value: str | None


@dataclass(slots=True)
class Template:
    """What the tubes sharing a site, pool size, kind and building have in common."""

    errors: list[tuple[str, str, str | None]] = field(default_factory=list)
    site_id: int = 0
    district_id: int = 0
    building_id: int | None = None
    kind: str = "screening"
    pool_size: int = 0
    replaces: str = ""


@dataclass(slots=True)
class Draft(Template):
    """A tube as the rows of one chunk describe it (from its first row): its template's terms,
    with its own errors added, and its code, line and time."""

    code: str = ""
    first_line: int = 0
    collected_at: datetime | None = None
    round_day: date | None = None
    # Filled once the database has been asked about the code.
    tube_id: int | None = None
    existing_members: int = 0
    closed: bool = False


@dataclass
class Rows:
    """One chunk under check: its records and line numbers, each record's tube and person, and
    what has been refused so far (with the reasons, by record index)."""

    lines: np.ndarray
    rows: Records
    label: Callable[[int], str]
    ok: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    bad: dict[int, list[RowError]] = field(default_factory=dict)
    tix: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    by_number: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Records naming their person by national ID, to be matched in the database.
    numbers: dict[int, str] = field(default_factory=dict)

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


class TubeReader:
    """Turns a chunk of records into tubes (`Draft`) and each record's tube and person."""

    def __init__(
        self,
        *,
        header: Header,
        sites: dict[str, tuple[int, int, int | None]],
        district_id: int | None,
        tz: str,
        now: datetime,
        building_index: Callable[[], dict[str, BuildingRef]],
    ) -> None:
        self.header = header
        self.sites = sites
        self.district_id = district_id
        self.at = {name: header.at(name) for name in TUBE_COLUMNS}
        self._building_index = building_index
        self._buildings: dict[str, BuildingRef] | None = None
        self._static_names = [
            name for name in ATTRIBUTES if name != "collected_at" and header.at(name) is not None
        ]
        self._static_of = operator.itemgetter(*[header.index[n] for n in self._static_names])
        self._templates: dict[Any, Template] = {}
        self._collected_at = header.index["collected_at"]
        self._zone = ZoneInfo(tz)
        self._latest = now + CLOCK_SKEW
        self._minutes: dict[str, tuple[datetime, date]] = {}

    def _strings(self, rows: Records, name: str) -> np.ndarray:
        at = self.at[name]
        if at is None:
            return np.full(len(rows), "")
        return np.char.strip(np.array(column_values(rows, at)))

    def drafts(self, chunk: Rows) -> list[Draft]:
        """The chunk's tubes in order of appearance (parsed from their first rows), each row's
        tube in `chunk.tix`; rows that disagree with their tube's first row are refused."""
        rows, i = chunk.rows, self.at
        code_at = i["tube_code"]
        assert code_at is not None
        if isinstance(rows, Columns):
            return self._column_drafts(chunk, rows, code_at)
        codes = list(map(operator.itemgetter(code_at), rows))
        changes = np.fromiter(
            map(operator.ne, codes[1:], codes[:-1]), dtype=bool, count=len(rows) - 1
        )
        starts = np.r_[0, np.flatnonzero(changes) + 1]
        tube_of, first_row = _number_tubes(
            chunk, starts, [codes[start] for start in starts.tolist()], len(rows)
        )
        present = [name for name in ATTRIBUTES if i[name] is not None]
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
            _refuse_unlike_first(chunk, differs, first_row)
        lines = chunk.lines[first_row].tolist()
        firsts = [rows[r] for r in first_row]
        return [
            self._draft(code, line, row)
            for code, line, row in zip(tube_of, lines, firsts, strict=True)
        ]

    def _column_drafts(self, chunk: Rows, rows: Columns, code_at: int) -> list[Draft]:
        """`drafts` for records held column by column: the same tubes, the same refusals, with
        the comparisons done by Arrow and Python work only per tube."""
        changes = rows.adjacent_differ(code_at)
        starts = np.r_[0, np.flatnonzero(changes) + 1]
        tube_of, first_row = _number_tubes(
            chunk, starts, rows.column(code_at).take(pa.array(starts)).to_pylist(), len(rows)
        )
        present = [at for name in ATTRIBUTES if (at := self.at[name]) is not None]
        inside = np.zeros(max(0, len(rows) - 1), dtype=bool)
        for at in present:
            inside |= rows.adjacent_differ(at)
        if (inside & ~changes).any() or len(first_row) < len(starts):
            firsts_of_rows = np.asarray(first_row, dtype=np.int64)[chunk.tix]
            differs = np.zeros(len(rows), dtype=bool)
            for at in present:
                differs |= rows.differ_from(at, firsts_of_rows)
            _refuse_unlike_first(chunk, differs, first_row)
        lines = chunk.lines[first_row].tolist()
        return [
            self._draft(code, line, row)
            for code, line, row in zip(tube_of, lines, rows.take(first_row), strict=True)
        ]

    def _draft(self, code: str, line: int, row: Sequence[str]) -> Draft:
        """A tube from its first row. Site, pool size, kind and building repeat from tube to
        tube: each distinct combination is checked once per call; the time is read per tube."""
        static = self._static_of(row)
        template = self._templates.get(static)
        if template is None:
            if len(self._templates) >= SEEN_LIMIT:
                self._templates.clear()
            template = self._templates[static] = self._template(static)
        errors = [*template.errors] if template.errors else []
        if not code or len(code) > 40:
            errors.append(
                ("tube_code", "longer than 40 characters", code)
                if code
                else ("tube_code", "required value is empty", None)
            )
        when = self._when(row[self._collected_at])
        collected_at = round_day = None
        if type(when) is Problem:
            errors.append(("collected_at", when.reason, when.value))
        else:
            collected_at, round_day = when  # type: ignore[misc]
        t = template
        return Draft(
            errors,
            t.site_id,
            t.district_id,
            t.building_id,
            t.kind,
            t.pool_size,
            t.replaces,
            code,
            line,
            collected_at,
            round_day,
        )

    def _template(self, static: tuple[str, ...]) -> Template:
        template = Template()
        for name, text in zip(self._static_names, static, strict=True):
            found = self._attribute(name, text.strip())
            if isinstance(found, Problem):
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

    def _when(self, text: str) -> tuple[datetime, date] | Problem:
        """The instant of collection (UTC) and its round, the local day.

        Tubes are sealed many a minute: a time written as 2022-11-15T08:30:17+08:00 (seconds
        may have a fraction) is read from its minute, parsed once, plus its seconds."""
        seconds = text[17:-6]
        if (
            len(text) >= 25
            and text[16] == ":"
            and text[-6] in "+-"
            and seconds[:2].isdigit()
            and seconds[0] < "6"
            and (len(seconds) == 2 or (seconds[2] == "." and seconds[3:].isdigit()))
        ):
            key = text[:16] + text[-6:]
            minute = self._minutes.get(key)
            if minute is None:
                start = self._instant(text[:17] + "00" + text[-6:])
                if isinstance(start, Problem):
                    return Problem(start.reason, text)
                if len(self._minutes) >= SEEN_LIMIT:
                    self._minutes.clear()
                minute = self._minutes[key] = start
            at = minute[0] + timedelta(seconds=float(seconds))
            day = minute[1]
        else:
            found = self._instant(text)
            if isinstance(found, Problem):
                return found
            at, day = found
        if at > self._latest:
            return Problem("lies in the future", text)
        return at, day

    def _instant(self, text: str) -> tuple[datetime, date] | Problem:
        """An ISO 8601 time (local time of the deployment without offset) in UTC, and its day."""
        try:
            at = datetime.fromisoformat(text.strip())
        except ValueError:
            return Problem("not a date and time (ISO 8601, e.g. 2022-11-15T08:30:00+08:00)", text)
        if at.tzinfo is None:
            at = at.replace(tzinfo=self._zone)
        return at.astimezone(UTC), at.astimezone(self._zone).date()

    def _attribute(self, name: str, text: str) -> Any:
        """A tube attribute's value, or the problem with it."""
        if name == "site_code":
            site = self.sites.get(text)
            if site is None:
                return Problem("unknown sampling site", text)
            if self.district_id not in (None, site[1]):
                return Problem("the site is outside your district", text)
            return site
        if name == "pool_size":
            try:
                return parse_int(text, low=1, high=MAX_POOL_SIZE)
            except BadValue as exc:
                return Problem(str(exc), text)
        if name == "kind":
            kind = text or "screening"
            return (
                kind if kind in TUBE_KINDS else Problem(f"must be one of {list(TUBE_KINDS)}", text)
            )
        if name == "building_code":
            if not text:
                return 0
            if self._buildings is None:
                self._buildings = self._building_index()
            building = self._buildings.get(text)
            return Problem("unknown building", text) if building is None else building.id
        return text

    def person_ids(self, chunk: Rows) -> np.ndarray:
        """Each row's person id (-1 where it cannot be read); national IDs are matched later."""
        rows, i = chunk.rows, self.at
        at, number_at = i["person_id"], i["national_id"]
        numbers_given = number_at is not None and any(column_values(rows, number_at))
        if at is not None and not numbers_given and isinstance(rows, Columns):
            ids = rows.int_column(at)
            if ids is not None:
                return ids
        elif at is not None and not numbers_given:
            try:  # the usual file: every row a person id
                return np.fromiter(
                    map(int, column_values(rows, at)), dtype=np.int64, count=len(rows)
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
        chunk.numbers = {
            int(k): str(numbers[k]) for k in np.flatnonzero(chunk.by_number & chunk.ok)
        }
        return pids


def _number_tubes(
    chunk: Rows, starts: np.ndarray, run_codes: Sequence[str], rows: int
) -> tuple[dict[str, int], list[int]]:
    """Number the tubes of a chunk from its runs of rows sharing a code (`starts`, and the code
    of each run): a code met again in a later run is the same tube. Sets each row's tube in
    `chunk.tix`; returns each code's tube and each tube's first row, in order of appearance."""
    tube_of: dict[str, int] = {}
    first_row: list[int] = []
    run_tube = []
    for start, raw in zip(starts.tolist(), run_codes, strict=True):
        code = raw.strip()
        t = tube_of.get(code)
        if t is None:
            t = tube_of[code] = len(first_row)
            first_row.append(start)
        run_tube.append(t)
    lengths = np.diff(np.r_[starts, rows])
    chunk.tix = np.repeat(np.asarray(run_tube, dtype=np.int64), lengths)
    return tube_of, first_row


def _refuse_unlike_first(chunk: Rows, differs: np.ndarray, first_row: Sequence[int]) -> None:
    """Refuse the rows of a tube whose site, time, pool size or kind differ from its first row."""
    chunk.refuse(
        differs,
        lambda k: (
            "tube_code",
            "site, time, pool size or kind differ from the tube's first row "
            f"({chunk.where(first_row[chunk.tix[k]])})",
        ),
    )


def column_values(rows: Records, at: int) -> list[str]:
    """Field `at` of every record."""
    if isinstance(rows, Columns):
        return rows.values(at)
    return list(map(operator.itemgetter(at), rows))


def last_tube_start(rows: Records, code_at: int) -> int:
    """Where the rows of the last tube of `rows` start (0 when they are all one tube)."""
    last = rows[-1][code_at] if len(rows[-1]) > code_at else None
    cut = len(rows)
    while cut > 0 and len(rows[cut - 1]) > code_at and rows[cut - 1][code_at] == last:
        cut -= 1
    return cut
