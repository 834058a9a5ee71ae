"""Ingesting laboratory results in bulk (part of the screening service).

Rows are checked field by field as they are read, loaded into a temporary staging table with
`bulk_insert` (binary COPY on PostgreSQL), then applied with set-based SQL: tube codes resolved
by one join, the first result of each tube without a result of record inserted in one statement,
every differing result stored as a conflict in another, the same result again left alone. What a
result sets off (holds, retests, case candidates, referral needs, resamples) follows in the same
transaction (`effects.py`). Re-sending a file changes nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    MetaData,
    String,
    Table,
    bindparam,
    text,
)
from sqlalchemy.orm import Session

from xietong.core.clock import CLOCK_SKEW
from xietong.core.csvfiles import RejectsWriter
from xietong.core.errors import ErrorList, RowError
from xietong.core.principal import Principal
from xietong.screening.models import ResultBatch
from xietong.screening.parsing import (
    OUTCOME_WORDS,
    BadValue,
    Header,
    RowChunk,
    parse_ct,
    parse_instant,
    parse_outcome,
)
from xietong.screening.results import effects
from xietong.screening.schemas import ResultBatchReport
from xietong.storage.base import UTCDateTime
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import collector_paused, dialect_of, local_settings, rowcount

RESULT_COLUMNS = ["tube_code", "result", "ct_value", "lab", "reported_at"]
REQUIRED = ["tube_code", "result", "lab", "reported_at"]
CHUNK_ROWS = 50_000

_STAGE = Table(
    "screening_stage_result",
    MetaData(),
    Column("line", BigInteger),
    Column("tube_code", String(40)),
    Column("outcome", String(8)),
    Column("ct_value", Float),
    Column("lab_code", String(40)),
    Column("reported_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_RANKED = "screening_stage_ranked"
# A staged row becomes a result of record: good, first of its tube, and the tube has none yet.
_APPLIES = "bad = 0 AND rn = 1 AND current_id IS NULL"
_STAGE_COLUMNS = [c.name for c in _STAGE.columns]
# The same result: outcome, laboratory and Ct value (both absent counts as equal).
_SAME = (
    "{a}.outcome = {b}.outcome AND {a}.lab_code = {b}.lab_code AND "
    "({a}.ct_value = {b}.ct_value OR ({a}.ct_value IS NULL AND {b}.ct_value IS NULL))"
)


@dataclass
class _Read:
    rows_read: int = 0
    # Every line is refused at most once (when read, or when resolved against the tubes).
    rows_rejected: int = 0
    errors: ErrorList = field(default_factory=ErrorList)


def _careful(
    row: list[str],
    where: str,
    at: dict[str, int | None],
    *,
    tz: str,
    now: datetime,
) -> tuple[list[RowError], tuple[object, ...]]:
    """One record checked field by field: its problems, or its values for the staging table."""
    problems: list[RowError] = []
    code, lab = row[at["tube_code"] or 0].strip(), row[at["lab"] or 0].strip()
    outcome = ct = reported = None
    try:
        outcome = parse_outcome(row[at["result"] or 0])
    except BadValue as exc:
        problems.append(RowError(where, "result", str(exc), row[at["result"] or 0]))
    ct_at = at["ct_value"]
    try:
        ct = parse_ct(row[ct_at]) if ct_at is not None else None
    except BadValue as exc:
        problems.append(RowError(where, "ct_value", str(exc), row[ct_at or 0]))
    try:
        reported = parse_instant(row[at["reported_at"] or 0], tz=tz, now=now)
    except BadValue as exc:
        problems.append(RowError(where, "reported_at", str(exc), row[at["reported_at"] or 0]))
    if not code or len(code) > 40:
        problems.append(RowError(where, "tube_code", "empty or longer than 40", code))
    if not lab or len(lab) > 40:
        problems.append(RowError(where, "lab", "empty or longer than 40", lab))
    return problems, (code, outcome, ct, lab, reported)


def _parse_chunk(
    lines: np.ndarray,
    rows: list[list[str]],
    header: Header,
    *,
    label: Callable[[int], str],
    tz: str,
    now: datetime,
    read: _Read,
    rejects: RejectsWriter | None,
) -> list[tuple[object, ...]]:
    """The chunk's records as staging rows, column by column; only records a quick check
    finds suspect are looked at one by one (and rejected with their reasons if bad)."""
    at = {name: header.at(name) for name in RESULT_COLUMNS}
    names = [n for n, _ in sorted(header.index.items(), key=lambda kv: kv[1])]
    width = header.width
    suspect: set[int] = set()
    originals = rows
    if set(map(len, rows)) != {width}:
        for k, row in enumerate(rows):
            if len(row) != width:
                suspect.add(k)
        rows = [row if len(row) == width else [""] * width for row in rows]
    column = {
        name: list(map(operator.itemgetter(i), rows)) for name, i in at.items() if i is not None
    }
    codes = list(map(str.strip, column["tube_code"]))
    labs = list(map(str.strip, column["lab"]))
    outcomes = list(map(OUTCOME_WORDS.get, column["result"]))
    cts: list[float | None] = [None] * len(rows)
    if "ct_value" in column and any(column["ct_value"]):
        parsed: dict[str, float | BadValue | None] = {}
        for k, text in enumerate(column["ct_value"]):
            if text:
                value = parsed.get(text)
                if value is None and text not in parsed:
                    try:
                        value = parse_ct(text)
                    except BadValue as exc:
                        value = exc
                    parsed[text] = value
                if isinstance(value, BadValue):
                    suspect.add(k)
                else:
                    cts[k] = value
    try:
        instants = list(map(datetime.fromisoformat, column["reported_at"]))
    except ValueError:
        instants = []
        suspect.update(range(len(rows)))
    if instants:
        latest = now + CLOCK_SKEW
        for k, instant in enumerate(instants):
            if instant.tzinfo is None or instant > latest:
                suspect.add(k)
    suspect.update(k for k, o in enumerate(outcomes) if o is None)
    for values in (codes, labs):
        if min(map(len, values)) == 0 or max(map(len, values)) > 40:
            suspect.update(k for k, v in enumerate(values) if not v or len(v) > 40)
    staged: list[tuple[object, ...]] = []
    read.rows_read += len(rows)
    for k, line in enumerate(lines.tolist()):
        if k not in suspect:
            staged.append((line, codes[k], outcomes[k], cts[k], labs[k], instants[k]))
            continue
        original = originals[k]
        if len(original) != width or not any(original):
            if not any(v.strip() for v in original):
                read.rows_read -= 1  # a blank line is not a record
            else:
                _refuse(
                    read,
                    rejects,
                    names,
                    line,
                    original,
                    [RowError(label(line), "record", "wrong number of fields")],
                )
            continue
        problems, checked = _careful(original, label(line), at, tz=tz, now=now)
        if problems:
            _refuse(read, rejects, names, line, original, problems)
        else:
            staged.append((line, *checked))
    return staged


def _refuse(
    read: _Read,
    rejects: RejectsWriter | None,
    names: list[str],
    line: int,
    row: list[str],
    problems: list[RowError],
) -> None:
    read.errors.extend(problems)
    read.rows_rejected += 1
    if rejects is not None:
        rejects.write(line, dict(zip(names, row, strict=False)), problems)


def ingest(
    session: Session,
    *,
    principal: Principal,
    header: Header,
    chunks: Iterator[RowChunk],
    label: Callable[[int], str],
    source: str,
    tz: str,
    now: datetime,
    load_valid: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ResultBatchReport:
    """Apply a delivery of results; whole or nothing unless `load_valid` (rejects to a file)."""
    batch = ResultBatch(
        source=source[:200],
        submitted_by=principal.username,
        received_at=now,
        rows_read=0,
        applied=0,
        unchanged=0,
        conflicts=0,
        rejected=0,
    )
    session.add(batch)
    session.flush()  # the first write: on SQLite it takes the write lock for the whole load
    dialect = dialect_of(session)
    connection = session.connection()
    _drop_stage(session)
    _STAGE.create(connection)
    rejects = RejectsWriter(rejects_path, RESULT_COLUMNS) if rejects_path else None
    read = _Read()
    with collector_paused():
        for lines, rows in chunks:
            block = _parse_chunk(
                lines, rows, header, label=label, tz=tz, now=now, read=read, rejects=rejects
            )
            bulk_insert(session, _STAGE, _STAGE_COLUMNS, block)
            if progress is not None:
                progress(read.rows_read)
    if dialect == "postgresql":
        session.execute(text(f"ANALYZE {_STAGE.name}"))
    # Sorts and hashes of a million rows fit in memory; JIT only slows statements run once.
    with local_settings(session, work_mem="256MB", jit="off"):
        report = _resolve(
            session,
            batch_id=batch.id,
            read=read,
            rejects=rejects,
            label=label,
            load_valid=load_valid,
            now=now,
            dialect=dialect,
            tz=tz,
        )
    report.rows_read = read.rows_read
    report.rows_rejected = read.rows_rejected
    report.rejects_file = str(rejects.path) if rejects is not None and rejects.count else None
    batch.rows_read = report.rows_read
    batch.applied, batch.unchanged, batch.conflicts = (
        report.applied,
        report.unchanged,
        report.conflicts,
    )
    batch.rejected = report.rows_rejected
    _drop_stage(session)
    session.flush()
    return report


def _resolve(
    session: Session,
    *,
    batch_id: int,
    read: _Read,
    rejects: RejectsWriter | None,
    label: Callable[[int], str],
    load_valid: bool,
    now: datetime,
    dialect: str,
    tz: str,
) -> ResultBatchReport:
    """Resolve the staged rows against tubes and results of record, list the bad ones (and
    refuse the delivery unless `load_valid`), then apply the good ones."""
    temp = (
        "CREATE TEMP TABLE {name} ON COMMIT DROP AS "
        if dialect == "postgresql"
        else ("CREATE TEMP TABLE {name} AS ")
    )
    # One pass resolves each tube code, flags the bad rows, finds the result of record and
    # numbers the good rows of each tube in file order (the first one may apply).
    bad = "CASE WHEN t.id IS NULL OR s.reported_at < t.collected_at THEN 1 ELSE 0 END"
    session.execute(
        text(
            temp.format(name=_RANKED)
            + "SELECT s.line, s.tube_code, s.outcome, s.ct_value, s.lab_code, s.reported_at, "
            f"t.id AS tube_id, t.district_id, t.round_day, {bad} AS bad, lr.id AS current_id, "
            f"row_number() OVER (PARTITION BY t.id, {bad} ORDER BY s.line) AS rn "
            f"FROM {_STAGE.name} s LEFT JOIN screening_tube t ON t.code = s.tube_code "
            "LEFT JOIN screening_lab_result lr ON lr.tube_id = t.id"
        )
    )
    if dialect == "postgresql":
        session.execute(text(f"ANALYZE {_RANKED}"))
    for line, code, outcome, ct, lab, reported, known in session.execute(
        text(
            "SELECT line, tube_code, outcome, ct_value, lab_code, reported_at, tube_id "
            f"FROM {_RANKED} WHERE bad = 1 ORDER BY line"
        )
    ):
        problem = (
            RowError(label(line), "tube_code", "unknown tube", code)
            if known is None
            else RowError(
                label(line), "reported_at", "before the tube was collected", str(reported)
            )
        )
        read.errors.extend([problem])
        read.rows_rejected += 1
        if rejects is not None:
            rejects.write(
                line,
                {
                    "tube_code": code,
                    "result": outcome,
                    "ct_value": "" if ct is None else str(ct),
                    "lab": lab,
                    "reported_at": str(reported),
                },
                [problem],
            )
    if rejects is not None:
        rejects.close()
    if read.errors and not load_valid:
        _drop_stage(session)
        raise read.errors.refusal("results refused; nothing was written")
    return _apply(session, batch_id=batch_id, now=now, dialect=dialect, tz=tz)


def _apply(
    session: Session, *, batch_id: int, now: datetime, dialect: str, tz: str
) -> ResultBatchReport:
    stamp = {"now": now, "batch": batch_id}
    typed = [bindparam("now", type_=UTCDateTime)]
    applied = rowcount(
        session.execute(
            text(
                "INSERT INTO screening_lab_result (tube_id, district_id, outcome, ct_value, "
                "lab_code, reported_at, batch_id, created_at, updated_at) "
                "SELECT tube_id, district_id, outcome, ct_value, lab_code, reported_at, "
                ":batch, :now, :now "
                f"FROM {_RANKED} WHERE {_APPLIES} ORDER BY tube_id"
            ).bindparams(*typed),
            stamp,
        )
    )
    conflicts = rowcount(
        session.execute(
            text(
                "INSERT INTO screening_result_conflict (tube_id, district_id, outcome, ct_value, "
                "lab_code, reported_at, fingerprint, batch_id, status, created_at, updated_at) "
                "SELECT r.tube_id, r.district_id, r.outcome, r.ct_value, r.lab_code, "
                "r.reported_at, "
                "r.outcome || '|' || r.lab_code || '|' || "
                "coalesce(CAST(r.ct_value AS VARCHAR), ''), "
                ":batch, 'open', :now, :now "
                f"FROM {_RANKED} r JOIN screening_lab_result lr ON lr.tube_id = r.tube_id "
                "WHERE r.bad = 0 AND NOT (r.rn = 1 AND r.current_id IS NULL) AND NOT ("
                + _SAME.format(a="r", b="lr")
                + ") ORDER BY r.line ON CONFLICT DO NOTHING"
            ).bindparams(*typed),
            stamp,
        )
    )
    differing = session.execute(
        text(
            f"SELECT count(*) FROM {_RANKED} r "
            "JOIN screening_lab_result lr ON lr.tube_id = r.tube_id "
            "WHERE r.bad = 0 AND NOT (r.rn = 1 AND r.current_id IS NULL) AND NOT ("
            + _SAME.format(a="r", b="lr")
            + ")"
        )
    ).scalar_one()
    total = session.execute(text(f"SELECT count(*) FROM {_RANKED} WHERE bad = 0")).scalar_one()
    counts: dict[str, int] = dict(
        session.execute(
            text(f"SELECT outcome, count(*) FROM {_RANKED} WHERE {_APPLIES} GROUP BY outcome")
        ).all()
    )
    report = ResultBatchReport(
        batch_id=batch_id,
        rows_read=0,
        applied=applied,
        unchanged=total - applied - differing,
        conflicts=conflicts,
        rows_rejected=0,
        negative=counts.get("negative", 0),
        positive=counts.get("positive", 0),
        invalid=counts.get("invalid", 0),
    )
    touched = [
        (tube_id, outcome)
        for tube_id, outcome in session.execute(
            text(
                f"SELECT tube_id, outcome FROM {_RANKED} "
                f"WHERE {_APPLIES} AND outcome <> 'negative' ORDER BY tube_id"
            )
        )
    ]
    singles = [
        tube_id
        for (tube_id,) in session.execute(
            text(
                f"SELECT r.tube_id FROM {_RANKED} r JOIN screening_tube t ON t.id = r.tube_id "
                f"WHERE {_APPLIES} AND r.outcome <> 'invalid' AND t.member_count = 1 "
                "ORDER BY r.tube_id"
            )
        )
    ]
    effects.apply(session, tubes=touched, now=now, report=report)
    effects.complete_retests(
        session, single_tube_ids=singles, batch_id=batch_id, now=now, report=report
    )
    return report


def _drop_stage(session: Session) -> None:
    for name in (_RANKED, _STAGE.name):
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
