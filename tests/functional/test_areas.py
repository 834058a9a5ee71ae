"""The bundled areas: Chongqing's 38 divisions and three functional zones, the central nine, the
CSV import of lower levels and the synthetic generator."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user
from xietong.areas import service
from xietong.areas.models import Building
from xietong.core.errors import ValidationFailed

CENTRAL = {
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
FUNCTIONAL = {"两江新区", "重庆高新区", "万盛经开区"}


def test_the_reference_city_has_41_reporting_units(session: Session) -> None:
    districts = service.list_districts(session)
    assert len(districts) == 41
    assert sum(1 for d in districts if d.gb_code) == 38
    assert {d.name_hans for d in districts if d.gb_code is None} == FUNCTIONAL


def test_the_nine_central_districts_are_flagged(session: Session) -> None:
    gb_central = {
        d.name_hans for d in service.list_districts(session) if d.central_urban and d.gb_code
    }
    assert gb_central == CENTRAL


def test_census_populations_add_up_to_the_municipal_total(session: Session) -> None:
    districts = {d.code: d for d in service.list_districts(session)}
    total = sum(d.population or 0 for d in districts.values())
    # Wansheng is carved out of Qijiang: the reporting units still add up to the 2020 census.
    assert total == 32_054_159
    assert districts["500106"].population == 1_477_345
    assert districts["CQ-WS"].population == 235_825


def test_names_exist_in_both_scripts_with_pinyin(session: Session) -> None:
    shapingba = service.get_district(session, code="500106")
    assert (shapingba.name_hans, shapingba.name_hant) == ("沙坪坝区", "沙坪壩區")
    assert shapingba.pinyin.startswith("Shāpíngbà")


def test_distances_are_symmetric_and_plausible(session: Session) -> None:
    matrix = service.distance_matrix(session)
    index = {c: i for i, c in enumerate(matrix.codes)}
    yuzhong, wanzhou = index["500103"], index["500101"]
    assert matrix.km[yuzhong][yuzhong] == 0
    assert matrix.km[yuzhong][wanzhou] == matrix.km[wanzhou][yuzhong]
    assert 150 < matrix.km[yuzhong][wanzhou] < 350  # Wanzhou lies about 230 km north-east


def test_the_api_lists_districts_and_shapes(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    districts = app_client.get("/api/areas/districts", headers=headers).json()
    assert len(districts) == 41
    shapes = app_client.get("/api/areas/shapes", headers=headers).json()
    assert shapes["type"] == "FeatureCollection" and len(shapes["features"]) >= 38


AREA_HEADER = (
    "district_code,street_code,street_name,community_code,community_name,"
    "building_code,address_label,kind,lon,lat\n"
)


def test_a_real_citys_lower_levels_import_from_csv_and_reimport_adds_nothing(
    session: Session,
) -> None:
    text = AREA_HEADER + (
        "500112,T-S1,龙山街道,T-C1,龙山路社区,T-B1,慧能小区1栋,residential,106.50,29.60\n"
        "500112,T-S1,龙山街道,T-C1,龙山路社区,T-B2,慧能小区2栋,,,\n"
    )
    report = service.import_areas(session, stream=io.StringIO(text))
    assert (report.streets_added, report.communities_added, report.buildings_added) == (1, 1, 2)
    again = service.import_areas(session, stream=io.StringIO(text))
    assert (again.streets_added, again.communities_added, again.buildings_added) == (0, 0, 0)


def test_a_bad_area_file_names_the_line_and_field_and_writes_nothing(session: Session) -> None:
    before = session.scalar(select(func.count(Building.id)))
    text = AREA_HEADER + (
        "500112,U-S1,街道,U-C1,社区,U-B1,1栋,residential,,\n"
        "599999,U-S2,街道,U-C2,社区,U-B2,2栋,castle,200,\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        service.import_areas(session, stream=io.StringIO(text))
    fields = {(e.record, e.field) for e in caught.value.errors}
    assert fields == {("line 3", "district_code"), ("line 3", "kind"), ("line 3", "lon")}
    session.rollback()
    assert session.scalar(select(func.count(Building.id))) == before


def test_the_synthetic_generator_is_deterministic_and_idempotent(session: Session) -> None:
    def generate() -> int:
        return service.generate_synthetic_areas(
            session, buildings_per_district={"500101": 10}, seed=1, buildings_per_community=3
        )

    assert generate() == 4  # the shared fixture already made the first six
    assert generate() == 0
