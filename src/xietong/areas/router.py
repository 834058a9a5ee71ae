"""Routes of the area hierarchy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xietong.api.deps import PageDep, PrincipalDep, SessionDep
from xietong.areas import reference, service
from xietong.areas.schemas import BuildingRead, DistanceMatrix, DistrictRead
from xietong.core.pagination import Page

router = APIRouter(prefix="/api/areas", tags=["areas"])


@router.get("/districts", summary="The reporting units with population and centroid")
def list_districts(session: SessionDep, _principal: PrincipalDep) -> list[DistrictRead]:
    return [DistrictRead.model_validate(d) for d in service.list_districts(session)]


@router.get("/districts/{code}", summary="One reporting unit")
def get_district(code: str, session: SessionDep, _principal: PrincipalDep) -> DistrictRead:
    return DistrictRead.model_validate(service.get_district(session, code=code))


@router.get("/distances", summary="District-to-district distances (km)")
def distances(session: SessionDep, _principal: PrincipalDep) -> DistanceMatrix:
    return service.distance_matrix(session)


@router.get("/shapes", summary="District shapes as GeoJSON (for maps)")
def shapes(_principal: PrincipalDep) -> dict[str, Any]:
    return reference.district_shapes()


@router.get("/buildings", summary="Buildings, paginated, optionally of one district")
def list_buildings(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    district: str | None = None,
) -> Page[BuildingRead]:
    district_id = service.get_district(session, code=district).id if district else None
    rows, total = service.list_buildings(
        session, district_id=district_id, limit=paging.limit, offset=paging.offset
    )
    codes = service.district_code_by_id(session)
    return Page.of(
        [
            BuildingRead(
                id=b.id,
                code=b.code,
                address_label=b.address_label,
                kind=b.kind,
                district_code=codes[b.district_id],
                community_code=community_code,
                lon=b.lon,
                lat=b.lat,
            )
            for b, community_code in rows
        ],
        total=total,
        params=paging,
    )
