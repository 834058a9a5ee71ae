"""Pydantic shapes of mutual aid in and out of the API: demand, plans, transfer orders, help
requests and offers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What the plan moves between districts (home isolation stays at home).
PlanResource = Literal["centralised_quarantine_bed", "makeshift_hospital_bed", "lab_tube"]
Resource = Literal[
    "centralised_quarantine_bed", "makeshift_hospital_bed", "home_isolation_place", "lab_tube"
]
MAX_HORIZON_DAYS = 28


# --- demand --------------------------------------------------------------------------------------

DistrictSeries = dict[str, list[float]]


class DemandInputs(BaseModel):
    """What the planner is told rather than reads; every series is per district code and day.

    - `recent_new_cases`: new cases on the days before the first planning day, oldest first
      (any length); replaces the counts read from the cases domain.
    - `forecast_new_cases`: new cases on each planning day (a forecast made elsewhere).
    - `new_contacts`: close contacts on each planning day (else cases × `contacts_per_case`).
    - `planned_tubes`: tubes on each planning day (else the screening plan).
    - `in_use`: per resource, places already held on each planning day and on the days the
      longest stay runs past them; a shorter series keeps its last value (else the quarantine
      orders of the cases domain).
    """

    model_config = ConfigDict(extra="forbid")

    recent_new_cases: DistrictSeries | None = None
    forecast_new_cases: DistrictSeries | None = None
    new_contacts: DistrictSeries | None = None
    planned_tubes: DistrictSeries | None = None
    in_use: dict[Resource, DistrictSeries] | None = None
    # Planning assumptions, not rules: the policy does not fix them (see docs/resources.md).
    contacts_per_case: float = Field(default=10.0, ge=0.0, le=1000.0)
    case_stay_days: int = Field(default=7, ge=1, le=60)


class DemandRequest(DemandInputs):
    first_day: date | None = None
    days: int = Field(default=7, ge=1, le=MAX_HORIZON_DAYS)


class OutlookCell(BaseModel):
    """Capacity against demand for one district, resource and day (the dashboard's table)."""

    district_code: str
    resource: Resource
    day: date
    capacity: int
    in_use: int  # held by persons already placed (quarantine orders in force)
    arrivals: int  # newly needing a place that day
    needed: int  # places needed that day: in use plus the projected arrivals still staying
    gap: int  # needed - capacity: positive is a shortage


class DemandRead(BaseModel):
    first_day: date
    last_day: date
    policy_version: str
    # forecast_given, growth_recalibrated, trend, recent_mean or none (forecast_model: plans
    # stored when the transmission model projected the demand, before it was backtested)
    demand_source: str
    # The forecast's level new cases are read at (the policy's mutual_aid.demand_quantile);
    # None when no forecast was read (stated, a recent mean, or nothing to project).
    demand_quantile: float | None
    tubes_source: str  # given, screening_plan, or not_available (no screening plan yet)
    stay_days: dict[str, int]
    contacts_per_case: float
    districts: list[str]
    new_cases: dict[str, list[int]]
    new_contacts: dict[str, list[int]]
    cells: list[OutlookCell]


# --- plans ---------------------------------------------------------------------------------------


class PlanRequest(DemandRequest):
    """Ask for a mutual-aid plan over the next days (stored as proposed unless `store` is off)."""

    max_travel_km: float | None = Field(default=None, gt=0)
    max_travel_km_by_resource: dict[PlanResource, float] | None = None
    transfer_penalty_km: float | None = Field(default=None, ge=0)
    store: bool = True
    note: str | None = Field(default=None, max_length=500)


class TransferRead(BaseModel):
    resource: PlanResource
    from_district_code: str  # the district whose persons (samples) are served elsewhere
    to_district_code: str  # the district that takes them in
    day: date
    amount: int
    distance_km: float


class ShortageRead(BaseModel):
    resource: PlanResource
    district_code: str
    day: date
    amount: int


class PlanSummary(BaseModel):
    id: int | None
    status: str
    first_day: date
    last_day: date
    policy_version: str
    demand_source: str
    # The forecast's level demand was read at; None when not a forecast's or not recorded.
    demand_quantile: float | None = None
    total_arrivals: int
    total_unmet: int
    total_transferred: int
    transferred_unit_km: float
    created_by: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class PlanRead(PlanSummary):
    parameters: dict[str, object]
    transfers: list[TransferRead]
    shortages: list[ShortageRead]
    unmet_if_kept_at_home: int | None = None


class FlowRow(BaseModel):
    resource: PlanResource
    district_code: str
    day: date
    capacity: int
    in_use: int
    arrivals: int
    kept: int
    sent: int
    received: int
    shortage: int
    occupied: int


class FlowTable(BaseModel):
    """A plan as the dashboard draws it: per district and day, and the arrows between them."""

    plan_id: int
    status: str
    rows: list[FlowRow]
    transfers: list[TransferRead]


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=500)


# --- orders, requests, offers --------------------------------------------------------------------

OrderStatus = Literal["issued", "partly_acknowledged", "acknowledged", "cancelled"]


class TransferOrderRead(BaseModel):
    id: int
    plan_id: int | None
    help_request_id: int | None
    help_offer_id: int | None
    resource: PlanResource
    from_district_code: str
    to_district_code: str
    day: date
    amount: int
    distance_km: float
    status: OrderStatus
    issued_by: str
    created_at: datetime
    sender_acknowledged_at: datetime | None
    sender_acknowledged_by: str | None
    receiver_acknowledged_at: datetime | None
    receiver_acknowledged_by: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None


class HelpIn(BaseModel):
    district_code: str | None = None  # a district user's own district by default
    resource: PlanResource
    amount: int = Field(ge=1, le=10_000_000)
    first_day: date
    last_day: date
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _in_order(self) -> HelpIn:
        if self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


class HelpRequestIn(HelpIn):
    """A district asking for N beds (or tubes a day) over some days."""


class HelpOfferIn(HelpIn):
    """A district offering N of its spare beds (or tubes a day), perhaps answering a request."""

    request_id: int | None = None


class HelpTermsRead(BaseModel):
    """What a help request and a help offer both show: who, how much of which resource over
    which days, and where it stands."""

    id: int
    district_code: str
    resource: PlanResource
    amount: int
    first_day: date
    last_day: date
    note: str | None
    status: str
    created_by: str
    created_at: datetime


class HelpRequestRead(HelpTermsRead):
    matched: int


class HelpOfferRead(HelpTermsRead):
    request_id: int | None
    taken: int


class MatchIn(BaseModel):
    """The command centre answers a request with an offer: a transfer order both ends see."""

    offer_id: int
    amount: int | None = Field(default=None, ge=1)
    day: date | None = None
