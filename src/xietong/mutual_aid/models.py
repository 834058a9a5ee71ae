"""Mutual aid's tables: help requests and offers, plans with their flow table and transfers, and
the transfer orders both districts acknowledge. Table names keep the `resources_` prefix they
were created with."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

# --- help requests and offers --------------------------------------------------------------------
# open → met (fully matched) | withdrawn; an offer: open → taken | withdrawn.
HELP_STATUSES = ("open", "met", "taken", "withdrawn")


class HelpTerms:
    """What a request and an offer both say: how much of which resource over which days, and
    where it stands."""

    resource: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class HelpRequest(HelpTerms, Base):
    """A district asking for N units of a resource over some days."""

    __tablename__ = "resources_help_request"
    __table_args__ = (Index("ix_resources_help_request_status", "status", "district_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    matched: Mapped[int] = mapped_column(Integer, default=0)


class HelpOffer(HelpTerms, Base):
    """A district offering N units of its spare capacity, perhaps answering a request."""

    __tablename__ = "resources_help_offer"
    __table_args__ = (Index("ix_resources_help_offer_status", "status", "district_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("resources_help_request.id"))
    taken: Mapped[int] = mapped_column(Integer, default=0)


# --- plans ---------------------------------------------------------------------------------------
# proposed → approved (its transfers become orders) | rejected | superseded (another plan for
# overlapping days was approved first).
PLAN_STATUSES = ("proposed", "approved", "rejected", "superseded")


class AidPlan(Base):
    __tablename__ = "resources_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    policy_version: Mapped[str] = mapped_column(String(64))
    demand_source: Mapped[str] = mapped_column(String(20))
    # The forecast's level demand was read at (the policy's `mutual_aid.demand_quantile` then);
    # None when the demand was not a forecast's, or for plans stored before it was recorded.
    demand_quantile: Mapped[float | None] = mapped_column(Float)
    # The planning parameters as given (max travel, home preference, stays, assumptions).
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    total_arrivals: Mapped[int] = mapped_column(Integer)
    total_unmet: Mapped[int] = mapped_column(Integer)
    total_transferred: Mapped[int] = mapped_column(Integer)
    transferred_unit_km: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PlanCell(Base):
    """One resource, district and day of a plan: the flow table the dashboard draws."""

    __tablename__ = "resources_plan_cell"
    __table_args__ = (
        Index("ix_resources_plan_cell_plan", "plan_id", "resource", "day", "district_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("resources_plan.id"))
    resource: Mapped[str] = mapped_column(String(32))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    day: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    in_use: Mapped[int] = mapped_column(Integer)  # held by persons placed before the plan
    arrivals: Mapped[int] = mapped_column(Integer)
    kept: Mapped[int] = mapped_column(Integer)
    sent: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    shortage: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer)  # in_use + the plan's placements staying


class TransferTerms:
    """What a planned transfer and a transfer order both say: how much of which resource goes
    from which district to which, on which day, over how many km."""

    resource: Mapped[str] = mapped_column(String(32))
    from_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    day: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)
    distance_km: Mapped[float] = mapped_column(Float)


class PlanTransfer(TransferTerms, Base):
    __tablename__ = "resources_plan_transfer"
    __table_args__ = (Index("ix_resources_plan_transfer_plan", "plan_id", "resource", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("resources_plan.id"))


# --- transfer orders -----------------------------------------------------------------------------
# issued → acknowledged by one end (partly_acknowledged) → by both (acknowledged); issued or
# partly acknowledged → cancelled by the command centre.
ORDER_STATUSES = ("issued", "partly_acknowledged", "acknowledged", "cancelled")


class TransferOrder(TransferTerms, Base):
    """Persons (or samples) of the sending district to be taken in by the receiving district."""

    __tablename__ = "resources_transfer_order"
    __table_args__ = (
        Index("ix_resources_transfer_order_from", "from_district_id", "status"),
        Index("ix_resources_transfer_order_to", "to_district_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("resources_plan.id"), index=True)
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("resources_help_request.id"))
    help_offer_id: Mapped[int | None] = mapped_column(ForeignKey("resources_help_offer.id"))
    status: Mapped[str] = mapped_column(String(20))
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sender_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sender_acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    receiver_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receiver_acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
