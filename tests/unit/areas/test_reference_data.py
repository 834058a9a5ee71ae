"""The bundled Chongqing reference file: 41 reporting units, their census populations, shapes,
centroids and distances, read as shipped (through importlib.resources, no GIS library)."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xietong.areas.reference import chongqing

CENTRAL_DISTRICTS = {
    "渝中区",
    "大渡口区",
    "江北区",
    "沙坪坝区",
    "九龙坡区",
    "南岸区",
    "北碚区",
    "渝北区",
    "巴南区",
}
ZONE_HOSTS = {"CQ-LJ": "500112", "CQ-GX": "500106", "CQ-WS": "500110"}
CENSUS_TOTAL_2020 = 32054159  # municipal 7th-census bulletin No.1, 2021-05-13
QIJIANG_WITH_WANSHENG = 1011334  # NBS county tabulation of the 2020 census
QIJIANG_WITHOUT_WANSHENG = 775509  # Qijiang's own 7th-census bulletin No.1
WANSHENG = 235825
# Chongqing's published extent, 105°11′–110°11′ E and 28°10′–32°13′ N (municipal government,
# 重庆概况), widened by 0.05° because the minutes are truncated.
WEST, EAST = 105 + 11 / 60 - 0.05, 110 + 11 / 60 + 0.05
SOUTH, NORTH = 28 + 10 / 60 - 0.05, 32 + 13 / 60 + 0.05
EARTH_RADIUS_KM = 6371.0088


@cache
def _raw_text() -> str:
    return resources.files("xietong.areas.data").joinpath("chongqing.json").read_text("utf-8")


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_raw_text())
    return document


def _units() -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = _document()["districts"]
    return units


def _divisions() -> list[dict[str, Any]]:
    return [u for u in _units() if u["gb_code"] is not None]


def _zones() -> list[dict[str, Any]]:
    return [u for u in _units() if u["gb_code"] is None]


def _by_code() -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in _units()}


def _inside(point: list[float], geometry: dict[str, Any]) -> bool:
    """Even-odd ray casting over every ring: the slow obvious oracle for point in polygon."""
    x, y = point
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    crossings = 0
    for polygon in polygons:
        for ring in polygon:
            for (x1, y1), (x2, y2) in pairwise(ring):
                if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                    crossings += 1
    return crossings % 2 == 1


def _haversine_km(a: list[float], b: list[float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def test_the_city_reports_by_38_gb_divisions_and_3_functional_zones() -> None:
    assert len(_units()) == 41
    assert len(_divisions()) == 38
    assert {u["code"] for u in _zones()} == set(ZONE_HOSTS)
    assert len({u["code"] for u in _units()}) == 41


def test_gb_divisions_carry_their_gb_t_2260_code_and_come_first_in_code_order() -> None:
    codes = [u["code"] for u in _units()]
    assert codes[:38] == sorted(codes[:38])
    assert codes[38:] == sorted(codes[38:])
    for unit in _divisions():
        assert unit["code"] == unit["gb_code"]
        assert len(unit["code"]) == 6 and unit["code"].startswith("50")
        assert unit["kind"] in {"区", "县", "自治县"}
        assert unit["host_code"] is None


def test_functional_zones_have_no_gb_code_and_name_their_main_host() -> None:
    divisions = {u["code"] for u in _divisions()}
    for zone in _zones():
        assert zone["kind"] == "functional zone"
        assert zone["host_code"] == ZONE_HOSTS[zone["code"]]
        assert zone["host_code"] in divisions


def test_liangjiang_lists_all_three_host_districts_in_its_note() -> None:
    note = _by_code()["CQ-LJ"]["population_note"]
    for host in ("500105", "500112", "500109"):
        assert host in note


def test_the_nine_central_districts_and_no_other_division_are_flagged_central() -> None:
    central = {u["name_hans"] for u in _divisions() if u["central_urban"]}
    assert central == CENTRAL_DISTRICTS
    assert all(isinstance(u["central_urban"], bool) for u in _units())


def test_the_38_divisions_sum_to_the_census_total_when_qijiang_gets_wansheng_back() -> None:
    by_code = _by_code()
    assert by_code["500110"]["population"] == QIJIANG_WITHOUT_WANSHENG
    wansheng = by_code["CQ-WS"]["population"]
    assert by_code["500110"]["population"] + wansheng == QIJIANG_WITH_WANSHENG
    assert sum(u["population"] for u in _divisions()) + wansheng == CENSUS_TOTAL_2020


def test_wansheng_is_carved_out_of_qijiang_and_both_notes_say_so() -> None:
    by_code = _by_code()
    assert by_code["CQ-WS"]["population"] == WANSHENG
    for code in ("500110", "CQ-WS"):
        note = by_code[code]["population_note"]
        assert str(QIJIANG_WITH_WANSHENG) in note
        assert str(QIJIANG_WITHOUT_WANSHENG) in note


def test_zones_without_a_census_figure_leave_their_hosts_figure_whole() -> None:
    by_code = _by_code()
    for code in ("CQ-LJ", "CQ-GX"):
        assert by_code[code]["population"] is None
        assert "no" in by_code[code]["population_note"].lower()
    for host in ("500105", "500112", "500109", "500106"):
        assert "not carved out" in by_code[host]["population_note"]


def test_every_division_has_a_positive_population_with_a_note() -> None:
    for unit in _divisions():
        assert isinstance(unit["population"], int) and unit["population"] > 0
        assert unit["population_note"]


def test_every_centroid_lies_inside_chongqings_bounding_box() -> None:
    for unit in _units():
        lon, lat = unit["centroid"]
        assert WEST <= lon <= EAST and SOUTH <= lat <= NORTH, unit["code"]


def test_every_boundary_vertex_lies_inside_chongqings_bounding_box() -> None:
    for unit in _divisions():
        for polygon in unit["geometry"]["coordinates"]:
            for ring in polygon:
                for lon, lat in ring:
                    assert WEST <= lon <= EAST and SOUTH <= lat <= NORTH, unit["code"]


def test_every_division_centroid_lies_inside_its_own_shape() -> None:
    for unit in _divisions():
        assert _inside(unit["centroid"], unit["geometry"]), unit["code"]


def test_a_zone_without_a_shape_has_its_point_inside_its_main_host() -> None:
    by_code = _by_code()
    for zone in _zones():
        if zone["geometry"] is None:
            host = by_code[zone["host_code"]]
            assert _inside(zone["centroid"], host["geometry"]), zone["code"]
            assert zone["centroid"] != host["centroid"]


def test_geometries_are_valid_geojson_polygons_with_closed_rings_of_4_decimal_positions() -> None:
    for unit in _units():
        geometry = unit["geometry"]
        if geometry is None:
            assert unit["gb_code"] is None, "every GB/T 2260 division has a shape"
            continue
        assert set(geometry) == {"type", "coordinates"}
        assert geometry["type"] in {"Polygon", "MultiPolygon"}
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        assert polygons
        for polygon in polygons:
            assert polygon, unit["code"]
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1], unit["code"]
                for position in ring:
                    assert len(position) == 2
                    assert all(isinstance(v, float | int) for v in position)
                    assert all(round(v, 4) == v for v in position)


def test_the_distance_matrix_is_symmetric_zero_on_the_diagonal_and_positive_elsewhere() -> None:
    table = _document()["distance_km"]
    codes, matrix = table["codes"], table["matrix"]
    assert codes == [u["code"] for u in _units()]
    assert len(matrix) == len(codes) and all(len(row) == len(codes) for row in matrix)
    for i in range(len(codes)):
        assert matrix[i][i] == 0.0
        for j in range(len(codes)):
            assert matrix[i][j] == matrix[j][i]
            if i != j:
                assert matrix[i][j] > 0.0, (codes[i], codes[j])


def test_distances_are_the_haversine_between_centroids_to_a_tenth_of_a_km() -> None:
    table = _document()["distance_km"]
    centroid = {u["code"]: u["centroid"] for u in _units()}
    for i, a in enumerate(table["codes"]):
        for j, b in enumerate(table["codes"]):
            expected = _haversine_km(centroid[a], centroid[b])
            assert abs(table["matrix"][i][j] - expected) <= 0.05 + 1e-9, (a, b)


@given(st.data())
def test_distances_obey_the_triangle_inequality_up_to_rounding(data: st.DataObject) -> None:
    matrix = _document()["distance_km"]["matrix"]
    index = st.integers(min_value=0, max_value=len(matrix) - 1)
    a, b, c = data.draw(index), data.draw(index), data.draw(index)
    assert matrix[a][c] <= matrix[a][b] + matrix[b][c] + 0.1


def test_the_file_names_its_sources_and_stays_small() -> None:
    provenance = _document()["provenance"]
    assert "cnmaps" in provenance["boundaries"]
    assert provenance["populations"]
    assert provenance["generated_by"] == "scripts/build_area_data.py"
    assert _document()["city"]["code"] == "500000"
    assert len(_raw_text().encode("utf-8")) < 1_000_000


def test_the_reference_loader_reads_the_bundled_file() -> None:
    city = chongqing()
    assert len(city.districts) == 41
    assert city.distance_codes == tuple(d.code for d in city.districts)
