"""What the twin remembers between runs: which city it built and how far it has replayed (each
step of each day, so that a run stopped midway resumes where it stopped), and the ground truth
the replay needs (households, workplaces, who is infected when)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime


class TwinRun(Base):
    __tablename__ = "twin_run"
    __table_args__ = (UniqueConstraint("seed", "population"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    first_person_id: Mapped[int] = mapped_column(BigIntPK)
    buildings: Mapped[int] = mapped_column(Integer)
    days_replayed: Mapped[int] = mapped_column(Integer)
    last_day: Mapped[date | None] = mapped_column(Date)


class TwinPerson(Base):
    __tablename__ = "twin_person"

    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"), primary_key=True)
    household: Mapped[int] = mapped_column(BigIntPK)
    workplace_building_id: Mapped[int | None] = mapped_column(BigIntPK)
    age: Mapped[int] = mapped_column(SmallInteger)


class TwinInfection(Base):
    """Ground truth of the simulated outbreak: who was infected on which day, by whom, where."""

    __tablename__ = "twin_infection"

    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("twin_run.id"), index=True)
    infected_on: Mapped[date] = mapped_column(Date, index=True)
    infector_id: Mapped[int | None] = mapped_column(BigIntPK)
    setting: Mapped[str] = mapped_column(String(12))
    symptomatic: Mapped[bool] = mapped_column(Boolean)


class TwinStep(Base):
    """One step of the replay done: a day's stage, committed with everything it did."""

    __tablename__ = "twin_step"

    run_id: Mapped[int] = mapped_column(ForeignKey("twin_run.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Simulated time at which the stage ended (the outbreak's clock, not the wall clock).
    simulated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
