"""Operations on the area hierarchy: the reference districts, CSV import of lower levels, the
synthetic generator for demos and tests, and look-ups other domains use."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import QueryableAttribute, Session

# `District` and `Building` are the record types this service returns: other domains name them
# from here, never from `areas.models`.
from xietong.areas.models import Building as Building
from xietong.areas.models import Community, DistrictDistance, Street
from xietong.areas.models import District as District
from xietong.areas.reference import ReferenceCity, chongqing
from xietong.areas.schemas import AreaImportReport, DistanceMatrix
from xietong.core.csvfiles import RejectsWriter, read_records
from xietong.core.errors import NotFound, RowError, ValidationFailed
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import MAX_LIST, dialect_of, member_of

_CODE_CACHE = "xietong.areas.codes"


def load_reference_districts(session: Session, *, city: ReferenceCity | None = None) -> int:
    """Insert or refresh the reference reporting units and distances; return how many are new."""
    city = city or chongqing()
    existing = {d.code: d for d in session.scalars(select(District))}
    added = 0
    for ref in city.districts:
        district = existing.get(ref.code)
        if district is None:
            district = District(code=ref.code)
            session.add(district)
            added += 1
        district.gb_code = ref.gb_code
        district.name_hans = ref.name_hans
        district.name_hant = ref.name_hant
        district.pinyin = ref.pinyin
        district.english = ref.english
        district.kind = ref.kind
        district.central_urban = ref.central_urban
        district.population = ref.population
        district.population_note = ref.population_note
        district.host_code = ref.host_code
        district.centroid_lon, district.centroid_lat = ref.centroid
    session.flush()
    ids = {d.code: d.id for d in session.scalars(select(District))}
    known_pairs = {
        (r.from_district_id, r.to_district_id): r for r in session.scalars(select(DistrictDistance))
    }
    for i, from_code in enumerate(city.distance_codes):
        for j, to_code in enumerate(city.distance_codes):
            key = (ids[from_code], ids[to_code])
            km = city.distance_km[i][j]
            row = known_pairs.get(key)
            if row is None:
                session.add(DistrictDistance(from_district_id=key[0], to_district_id=key[1], km=km))
            else:
                row.km = km
    session.flush()
    session.info.pop(_CODE_CACHE, None)
    return added


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))


def get_district(session: Session, *, code: str) -> District:
    district = session.scalar(select(District).where(District.code == code))
    if district is None:
        raise NotFound(f"no district with code {code!r}", code="district_not_found")
    return district


def district_id_of(session: Session, *, code: str | None) -> int | None:
    """The id of the district `code` names (None for None); NotFound for an unknown code."""
    return None if not code else get_district(session, code=code).id


def _codes(session: Session) -> dict[int, str]:
    cached = session.info.get(_CODE_CACHE)
    if cached is None:
        cached = dict(session.execute(select(District.id, District.code)).all())
        session.info[_CODE_CACHE] = cached
    return cached


def district_code_by_id(session: Session) -> dict[int, str]:
    """District id → code (41 rows; cached on the session)."""
    return _codes(session)


def district_id_by_code(session: Session) -> dict[str, int]:
    return {code: id_ for id_, code in _codes(session).items()}


def distance_matrix(session: Session) -> DistanceMatrix:
    codes = district_code_by_id(session)
    order = sorted(codes.values())
    index = {code: i for i, code in enumerate(order)}
    km = [[0.0] * len(order) for _ in order]
    # Plain rows, not 1,681 ORM objects: the mutual-aid page reads the matrix on every view.
    for from_id, to_id, distance in session.execute(
        select(
            DistrictDistance.from_district_id, DistrictDistance.to_district_id, DistrictDistance.km
        )
    ):
        km[index[codes[from_id]]][index[codes[to_id]]] = distance
    return DistanceMatrix(codes=order, km=km)


@dataclass(frozen=True)
class BuildingRef:
    id: int
    district_id: int


def building_index(session: Session, *, district_id: int | None = None) -> dict[str, BuildingRef]:
    """Every building code → (id, district), or those of one district; bulk imports resolve
    codes in memory with it."""
    query = select(Building.id, Building.code, Building.district_id)
    if district_id is not None:
        query = query.where(Building.district_id == district_id)
    return {code: BuildingRef(id_, district) for id_, code, district in session.execute(query)}


def building_rows(
    session: Session, *, district_id: int | None = None
) -> Sequence[tuple[int, str, int]]:
    """(id, code, district id) of every building, or of one district's: `building_index`
    without an object per building, for a read of a district's thousands on every view."""
    query = select(Building.id, Building.code, Building.district_id)
    if district_id is not None:
        query = query.where(Building.district_id == district_id)
    return [(id_, code, district) for id_, code, district in session.execute(query)]


@dataclass(frozen=True)
class BuildingPlace:
    """A building as other domains show and count it: code, address, district and community."""

    id: int
    code: str
    address_label: str
    district_id: int
    community_id: int
    kind: str


# A `BuildingPlace`'s columns, in its order.
_PLACE_COLUMNS = (
    Building.id,
    Building.code,
    Building.address_label,
    Building.district_id,
    Building.community_id,
    Building.kind,
)


def building_places() -> Subquery:
    """Every building as other domains show it (id, code, address label, district, community,
    kind): what their set-based statements join on instead of fetching places row by row."""
    return select(*_PLACE_COLUMNS).subquery("building_places")


def _places_where(
    session: Session, key: QueryableAttribute[Any], wanted: Sequence[int] | Sequence[str]
) -> Iterator[BuildingPlace]:
    # The keys go as one parameter per statement: the daily evaluation asks for tens of thousands.
    dialect = dialect_of(session)
    for start in range(0, len(wanted), MAX_LIST):
        rows = session.execute(
            select(*_PLACE_COLUMNS).where(
                member_of(key, wanted[start : start + MAX_LIST], dialect=dialect)
            )
        )
        yield from (BuildingPlace(*row) for row in rows)


def buildings_by_id(session: Session, *, ids: Collection[int | None]) -> dict[int, BuildingPlace]:
    """The buildings of `ids` that exist (None and unknown ids are left out)."""
    wanted = sorted({i for i in ids if i is not None})
    return {place.id: place for place in _places_where(session, Building.id, wanted)}


def buildings_by_code(
    session: Session, *, codes: Collection[str | None]
) -> dict[str, BuildingPlace]:
    """The buildings of `codes` that exist (None and unknown codes are left out)."""
    wanted = sorted({c for c in codes if c})
    return {place.code: place for place in _places_where(session, Building.code, wanted)}


def wider_area_kind(session: Session, *, code: str) -> str | None:
    """'community' or 'street' when `code` names such an area rather than a building."""
    if session.scalar(select(Community.id).where(Community.code == code)) is not None:
        return "community"
    if session.scalar(select(Street.id).where(Street.code == code)) is not None:
        return "street"
    return None


def get_building(session: Session, *, code: str) -> Building:
    building = session.scalar(select(Building).where(Building.code == code))
    if building is None:
        raise NotFound(f"no building with code {code!r}", code="building_not_found")
    return building


def list_buildings(
    session: Session, *, district_id: int | None, limit: int, offset: int
) -> tuple[list[tuple[Building, str]], int]:
    query = select(Building, Community.code).join(Community, Community.id == Building.community_id)
    count_query = select(func.count(Building.id))
    if district_id is not None:
        query = query.where(Building.district_id == district_id)
        count_query = count_query.where(Building.district_id == district_id)
    total = session.scalar(count_query) or 0
    rows = session.execute(query.order_by(Building.code).limit(limit).offset(offset))
    return [(b, c) for b, c in rows], total


AREA_COLUMNS = [
    "district_code",
    "street_code",
    "street_name",
    "community_code",
    "community_name",
    "building_code",
    "address_label",
    "kind",
    "lon",
    "lat",
]
_BUILDING_KINDS = {"residential", "workplace", "venue", "school", "facility"}


def import_areas(
    session: Session,
    *,
    stream: TextIO,
    load_valid: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> AreaImportReport:
    """Import streets, communities and buildings from CSV; whole file or nothing unless asked.

    Re-importing the same file adds nothing: rows are matched on their codes.
    """
    district_ids = district_id_by_code(session)
    streets = {s.code: s for s in session.scalars(select(Street))}
    communities = {c.code: c for c in session.scalars(select(Community))}
    known_buildings = set(session.scalars(select(Building.code)))
    errors: list[RowError] = []
    rejects = RejectsWriter(rejects_path, AREA_COLUMNS) if rejects_path else None
    new_streets = new_communities = 0
    pending_buildings: list[tuple[object, ...]] = []
    rows_read = 0
    for line, record in read_records(
        stream, required=AREA_COLUMNS[:7], optional=["kind", "lon", "lat"]
    ):
        rows_read += 1
        if progress is not None and rows_read % 10_000 == 0:
            progress(rows_read)
        row_errors = _check_area_row(line, record, district_ids, streets, communities)
        if row_errors:
            errors.extend(row_errors)
            if rejects is not None:
                rejects.write(line, record, row_errors)
            continue
        district_id = district_ids[record["district_code"]]
        street = streets.get(record["street_code"])
        if street is None:
            street = Street(
                code=record["street_code"], district_id=district_id, name=record["street_name"]
            )
            session.add(street)
            session.flush()
            streets[street.code] = street
            new_streets += 1
        community = communities.get(record["community_code"])
        if community is None:
            community = Community(
                code=record["community_code"],
                street_id=street.id,
                district_id=district_id,
                name=record["community_name"],
            )
            session.add(community)
            session.flush()
            communities[community.code] = community
            new_communities += 1
        if record["building_code"] in known_buildings:
            continue
        known_buildings.add(record["building_code"])
        pending_buildings.append(
            (
                record["building_code"],
                community.id,
                district_id,
                record["address_label"],
                record.get("kind") or "residential",
                float(record["lon"]) if record.get("lon") else None,
                float(record["lat"]) if record.get("lat") else None,
            )
        )
    if rejects is not None:
        rejects.close()
    if errors and not load_valid:
        raise ValidationFailed(errors=errors, summary="area file refused; nothing was written")
    added = bulk_insert(
        session,
        Building.__table__,  # type: ignore[arg-type]
        ["code", "community_id", "district_id", "address_label", "kind", "lon", "lat"],
        pending_buildings,
    )
    return AreaImportReport(
        streets_added=new_streets,
        communities_added=new_communities,
        buildings_added=added,
        rows_read=rows_read,
        rows_rejected=len({e.record for e in errors}),
        rejects_file=str(rejects_path) if rejects is not None and rejects.count else None,
    )


def _check_area_row(
    line: int,
    record: dict[str, str],
    district_ids: dict[str, int],
    streets: dict[str, Street],
    communities: dict[str, Community],
) -> list[RowError]:
    where = f"line {line}"
    if "__width__" in record:
        return [RowError(where, "record", record["__width__"])]
    errors = []
    for name in AREA_COLUMNS[:7]:
        if not record.get(name):
            errors.append(RowError(where, name, "required value is empty"))
    code = record.get("district_code", "")
    if code and code not in district_ids:
        errors.append(RowError(where, "district_code", "unknown district", code))
    street = streets.get(record.get("street_code", ""))
    if street is not None and code in district_ids and street.district_id != district_ids[code]:
        errors.append(RowError(where, "street_code", "street belongs to another district"))
    community = communities.get(record.get("community_code", ""))
    if community is not None and street is not None and community.street_id != street.id:
        errors.append(RowError(where, "community_code", "community belongs to another street"))
    kind = record.get("kind") or "residential"
    if kind not in _BUILDING_KINDS:
        errors.append(RowError(where, "kind", f"must be one of {sorted(_BUILDING_KINDS)}", kind))
    for name, low, high in (("lon", 73.0, 136.0), ("lat", 3.0, 54.0)):
        value = record.get(name)
        if value:
            try:
                number = float(value)
            except ValueError:
                errors.append(RowError(where, name, "not a number", value))
                continue
            if not low <= number <= high:
                errors.append(RowError(where, name, f"outside China ({low}..{high})", value))
    return errors


def generate_synthetic_areas(
    session: Session,
    *,
    buildings_per_district: dict[str, int],
    seed: int = 0,
    buildings_per_community: int = 40,
    communities_per_street: int = 12,
    workplace_share: float = 0.1,
    code_prefix: str | None = None,
) -> int:
    """Create synthetic streets, communities and buildings (deterministic from `seed`).

    Codes are `<district>-S001`, `<district>-S001-C01`, `<district>-S001-C01-B0001` (behind
    `code_prefix-` when given); running it again with the same arguments adds nothing.
    """
    rng = random.Random(seed)
    prefix = f"{code_prefix}-" if code_prefix else ""
    district_ids = district_id_by_code(session)
    districts = {d.code: d for d in list_districts(session)}
    existing_streets = {s.code: s for s in session.scalars(select(Street))}
    existing_communities = {c.code: c for c in session.scalars(select(Community))}
    rows: list[tuple[object, ...]] = []
    for code in sorted(buildings_per_district):
        if code not in district_ids:
            raise NotFound(f"no district with code {code!r}", code="district_not_found")
        district = districts[code]
        total = buildings_per_district[code]
        for b in range(total):
            c = b // buildings_per_community
            s = c // communities_per_street
            street_code = f"{prefix}{code}-S{s + 1:03d}"
            community_code = f"{street_code}-C{c % communities_per_street + 1:02d}"
            street = existing_streets.get(street_code)
            if street is None:
                street = Street(
                    code=street_code,
                    district_id=district.id,
                    name=f"{district.name_hans}第{s + 1}街道",
                )
                session.add(street)
                session.flush()
                existing_streets[street_code] = street
            community = existing_communities.get(community_code)
            if community is None:
                community = Community(
                    code=community_code,
                    street_id=street.id,
                    district_id=district.id,
                    name=f"第{c % communities_per_street + 1}社区",
                )
                session.add(community)
                session.flush()
                existing_communities[community_code] = community
            building_no = b % buildings_per_community + 1
            # Buildings scatter a little around the district's centroid for maps.
            rows.append(
                (
                    f"{community_code}-B{building_no:04d}",
                    community.id,
                    district.id,
                    f"{street.name}{community.name}{building_no}栋",
                    "workplace" if rng.random() < workplace_share else "residential",
                    round(district.centroid_lon + rng.uniform(-0.05, 0.05), 5),
                    round(district.centroid_lat + rng.uniform(-0.05, 0.05), 5),
                )
            )
    return bulk_insert(
        session,
        Building.__table__,  # type: ignore[arg-type]
        ["code", "community_id", "district_id", "address_label", "kind", "lon", "lat"],
        rows,
        skip_conflicts_on=["code"],
    )


def iter_building_codes(session: Session, *, district_id: int | None = None) -> Iterable[str]:
    query = select(Building.code).order_by(Building.id)
    if district_id is not None:
        query = query.where(Building.district_id == district_id)
    return session.scalars(query)


def find_buildings(
    session: Session, *, text: str, district_id: int | None = None, limit: int = 20
) -> list[Building]:
    """Buildings whose code or address contains `text` (a search box), within one district."""
    needle = f"%{text.strip()}%"
    query = select(Building).where(
        (Building.code.like(needle)) | (Building.address_label.like(needle))
    )
    if district_id is not None:
        query = query.where(Building.district_id == district_id)
    return list(session.scalars(query.order_by(Building.code).limit(limit)))
