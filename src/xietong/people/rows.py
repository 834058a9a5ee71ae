"""Persons' records turned into protected table rows: validated, ID keyed-hashed, name and phone
encrypted. The work of a city's import, so it runs a chunk at a time on worker processes
(`core.parallel`), each holding what the rows need in `RowContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TypeVar

from xietong.areas.service import BuildingRef
from xietong.core.errors import RowError
from xietong.people import identity
from xietong.people.protection import PersonalDataProtector

# A chunk is a few milliseconds of pickling against some 100 ms of hashing and encryption.
CHUNK = 5_000
# Warnings kept for the report (the rest are counted): enough to see a pattern, small enough
# that a city's import with a systematic mistake does not hold millions of them.
MAX_WARNINGS = 200

TABLE_COLUMNS = [
    "id_hash",
    "id_masked",
    "name_enc",
    "phone_enc",
    "birth_date",
    "sex",
    "residence_building_id",
    "residence_district_id",
    "current_building_id",
    "current_district_id",
    "created_at",
    "updated_at",
    "name_hash",
    "phone_hash",
    "phone_tail_hash",
]

T = TypeVar("T")
Row = tuple[object, ...]
Record = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class RowContext:
    """What every row of one import needs: the keys, the buildings, who imports, and when."""

    protector: PersonalDataProtector
    now: datetime
    district_id: int | None = None
    buildings: dict[str, BuildingRef] = field(default_factory=dict)
    # The city's districts by their GB/T 2260 code, to warn of an ID issued in another one.
    district_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPerson:
    """A person to register in bulk (building ids already resolved)."""

    national_id: str
    name: str
    phone: str | None
    residence_building_id: int
    residence_district_id: int
    current_building_id: int
    current_district_id: int


@dataclass
class ChunkRows:
    """A chunk's valid rows, its rejected records with their reasons, and how many valid rows
    were accepted with a warning (the first `MAX_WARNINGS` of them kept)."""

    records: int
    rows: list[Row]
    rejected: list[tuple[int, dict[str, str], list[RowError]]]
    warned: int = 0
    warnings: list[RowError] = field(default_factory=list)


_context: RowContext | None = None


def use_context(context: RowContext) -> None:
    """Hold the import's context in this process (the pool's initializer)."""
    global _context
    _context = context


def _current() -> RowContext:
    if _context is None:
        raise RuntimeError("use_context() must run before rows are made")
    return _context


def in_chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def region_warning(
    national_id: identity.NationalId,
    *,
    residence_district_id: int,
    district_ids: dict[str, int],
    record: str = "person",
) -> RowError | None:
    """A warning when the ID's region code is one of our districts but not the residence's: a
    person born elsewhere in the city is common, a number typed for the wrong person too."""
    named = district_ids.get(national_id.region_code)
    if named is None or named == residence_district_id:
        return None
    return RowError(
        record,
        "national_id",
        f"the region code names district {national_id.region_code}, "
        "not the residence district; accepted, check the number",
    )


def record_rows(chunk: list[Record]) -> ChunkRows:
    """Validate and protect a chunk of CSV records (line number, record)."""
    context = _current()
    result = ChunkRows(records=len(chunk), rows=[], rejected=[])
    for line, record in chunk:
        errors, row, warning = _record_row(line, record, context)
        if errors:
            result.rejected.append((line, record, errors))
            continue
        result.rows.append(row)
        if warning is not None:
            result.warned += 1
            if len(result.warnings) < MAX_WARNINGS:
                result.warnings.append(warning)
    return result


def new_person_rows(chunk: tuple[int | None, list[NewPerson]]) -> list[Row]:
    """Protect a chunk of trusted persons; with a first id, number them from it in order."""
    context = _current()
    first_id, persons = chunk
    protector, now = context.protector, context.now
    rows: list[Row] = []
    for index, person in enumerate(persons):
        number = identity.parse(person.national_id)
        explicit = () if first_id is None else (first_id + index,)
        rows.append(
            (
                *explicit,
                protector.hash_id(number.number),
                number.masked,
                protector.encrypt(person.name),
                protector.encrypt_optional(person.phone),
                number.birth_date,
                number.sex,
                person.residence_building_id,
                person.residence_district_id,
                person.current_building_id,
                person.current_district_id,
                now,
                now,
                protector.hash_name(person.name),
                protector.hash_phone(person.phone),
                protector.hash_phone_tail(person.phone),
            )
        )
    return rows


def _record_row(
    line: int, record: dict[str, str], context: RowContext
) -> tuple[list[RowError], Row, RowError | None]:
    """The row's errors, or its protected row and a warning worth a look (if any)."""
    where = f"line {line}"
    if "__width__" in record:
        return [RowError(where, "record", record["__width__"])], (), None
    buildings = context.buildings
    errors: list[RowError] = []
    national_id = None
    try:
        national_id = identity.parse(record["national_id"])
    except identity.InvalidNationalId as exc:
        # The bad value is not echoed back: it may be a real person's number.
        errors.append(RowError(where, "national_id", str(exc)))
    name = record["name"]
    if not name:
        errors.append(RowError(where, "name", "required value is empty"))
    elif len(name) > 64:
        errors.append(RowError(where, "name", "longer than 64 characters"))
    phone = record.get("phone") or None
    if phone is not None and not phone.replace("+", "").replace("-", "").isdigit():
        errors.append(RowError(where, "phone", "only digits, + and - are allowed", phone))
    residence = buildings.get(record["residence_building"])
    if residence is None:
        errors.append(
            RowError(where, "residence_building", "unknown building", record["residence_building"])
        )
    elif context.district_id is not None and residence.district_id != context.district_id:
        errors.append(RowError(where, "residence_building", "outside your district"))
    current = residence
    if record.get("current_building"):
        current = buildings.get(record["current_building"])
        if current is None:
            errors.append(
                RowError(where, "current_building", "unknown building", record["current_building"])
            )
    if errors or national_id is None or residence is None or current is None:
        return errors, (), None
    warning = region_warning(
        national_id,
        residence_district_id=residence.district_id,
        district_ids=context.district_ids,
        record=where,
    )
    protector = context.protector
    row = (
        protector.hash_id(national_id.number),
        national_id.masked,
        protector.encrypt(name),
        protector.encrypt_optional(phone),
        national_id.birth_date,
        national_id.sex,
        residence.id,
        residence.district_id,
        current.id,
        current.district_id,
        context.now,
        context.now,
        protector.hash_name(name),
        protector.hash_phone(phone),
        protector.hash_phone_tail(phone),
    )
    return [], row, warning
