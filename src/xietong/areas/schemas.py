"""Pydantic shapes of the area hierarchy in and out of the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DistrictIdentity(BaseModel):
    """What names a reporting unit: its codes, its names in both scripts, in pinyin and in
    English, its kind, whether it is central urban, its census population and, for a functional
    zone carved out of a district, that host district's code."""

    code: str
    gb_code: str | None
    name_hans: str
    name_hant: str
    pinyin: str
    english: str
    kind: str
    central_urban: bool
    population: int | None
    host_code: str | None


class DistrictRead(DistrictIdentity):
    model_config = ConfigDict(from_attributes=True)

    centroid_lon: float
    centroid_lat: float


class BuildingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    address_label: str
    kind: str
    district_code: str
    community_code: str
    lon: float | None
    lat: float | None


class AreaImportReport(BaseModel):
    streets_added: int
    communities_added: int
    buildings_added: int
    rows_read: int
    rows_rejected: int
    rejects_file: str | None = None


class DistanceMatrix(BaseModel):
    codes: list[str]
    km: list[list[float]]
