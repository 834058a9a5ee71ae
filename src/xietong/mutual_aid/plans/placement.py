"""Placing arrivals who stay several days: the mutual-aid plan over a horizon of days.

A close contact placed in a quarantine site on a day keeps the bed for the whole quarantine, so
beds given on one day are gone on the next. This module runs the one-day plan of
`allocation` day after day, each day on the beds still free for the whole stay
of that day's arrivals. Pure: no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from xietong.mutual_aid.plans.allocation import (
    MutualAidPlan,
    MutualAidProblem,
    Transfer,
    plan_mutual_aid,
)

__all__ = ["StayPlan", "StayProblem", "keep_at_home", "place_arrivals"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False, kw_only=True)
class StayProblem:
    """Arrivals per day, who each keep a unit of a resource for a number of days.

    Attributes
    ----------
    district_codes : tuple of str, length D
    resources : tuple of str, length R
    days : tuple of date, length T
        Planning days, consecutive and in order.
    arrivals : ndarray, shape (R, D, T)
        Persons (or tubes) of each district needing the resource from each day; whole numbers.
    free_capacity : ndarray, shape (R, D, T + E)
        Units free on each planning day and on the ``E = max(stay_days) - 1`` days after it,
        net of occupants already placed (existing quarantine orders). Negative values (a site
        already over-full) count as none free.
    stay_days : tuple of int, length R
        Days one arrival keeps its unit: the quarantine duration for beds, 1 for tubes.
    distance_km : ndarray, shape (D, D)
    max_travel_km : float or ndarray, shape (R,)
    transfer_penalty_km : float or ndarray, shape (R,)
    """

    district_codes: tuple[str, ...]
    resources: tuple[str, ...]
    days: tuple[date, ...]
    arrivals: FloatArray
    free_capacity: FloatArray
    stay_days: tuple[int, ...]
    distance_km: FloatArray
    max_travel_km: float | FloatArray = math.inf
    transfer_penalty_km: float | FloatArray | None = None

    def __post_init__(self) -> None:
        n_r, n_d, n_t = len(self.resources), len(self.district_codes), len(self.days)
        if n_t == 0:
            raise ValueError("days: at least one day is needed")
        if any((b - a).days != 1 for a, b in zip(self.days, self.days[1:], strict=False)):
            raise ValueError("days: must be consecutive and in order")
        stays = tuple(self.stay_days)
        if len(stays) != n_r or any(
            isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1 for s in stays
        ):
            raise ValueError(f"stay_days: expected {n_r} whole numbers of at least 1, got {stays}")
        arrivals = np.array(self.arrivals, dtype=np.float64)
        if arrivals.shape != (n_r, n_d, n_t):
            raise ValueError(f"arrivals: expected shape {(n_r, n_d, n_t)}, got {arrivals.shape}")
        if not np.all(np.isfinite(arrivals)) or np.any(arrivals < 0):
            raise ValueError("arrivals: must be finite and non-negative")
        if np.any(arrivals != np.rint(arrivals)):
            raise ValueError("arrivals: must be whole numbers (persons, tubes)")
        extra = max(stays) - 1
        free = np.array(self.free_capacity, dtype=np.float64)
        if free.shape != (n_r, n_d, n_t + extra):
            raise ValueError(
                f"free_capacity: expected shape {(n_r, n_d, n_t + extra)} (the planning days and "
                f"the {extra} days the longest stay runs past them), got {free.shape}"
            )
        if not np.all(np.isfinite(free)):
            raise ValueError("free_capacity: must be finite")
        object.__setattr__(self, "stay_days", tuple(int(s) for s in stays))
        object.__setattr__(self, "arrivals", arrivals)
        object.__setattr__(self, "free_capacity", np.floor(np.maximum(free, 0.0)))


@dataclass(frozen=True, eq=False, kw_only=True)
class StayPlan:
    """Where each day's arrivals go, and what they leave occupied.

    Attributes
    ----------
    transfers : tuple of Transfer
        Arrivals of one district placed in another, by day.
    kept_at_home, sent, received, shortage : ndarray, shape (R, D, T)
        As in `MutualAidPlan`, for the arrivals of each day.
    placed_occupancy : ndarray, shape (R, D, T + E)
        Units the plan's placements occupy in each district on each day (their whole stay).
    free_for_arrivals : ndarray, shape (R, D, T)
        What each day's one-day plan could use: units free for the whole stay of an arrival.
    daily : tuple of MutualAidPlan
        The one-day plans, in day order.
    total_arrivals, total_unmet, total_transferred, transferred_unit_km, total_cost : float
    """

    transfers: tuple[Transfer, ...]
    kept_at_home: FloatArray
    sent: FloatArray
    received: FloatArray
    shortage: FloatArray
    placed_occupancy: FloatArray
    free_for_arrivals: FloatArray
    daily: tuple[MutualAidPlan, ...]
    total_arrivals: float
    total_unmet: float
    total_transferred: float
    transferred_unit_km: float
    total_cost: float


def place_arrivals(problem: StayProblem) -> StayPlan:
    """Plan each day's arrivals in turn on the units free for their whole stay.

    On day ``t`` a unit of resource ``r`` in district ``j`` can take an arrival only if it is
    free on every day ``t .. t + stay_days[r] - 1``, after the occupants already placed and the
    arrivals placed on earlier days of the plan; so what one district may use is the minimum of
    its free units over the stay. The day's problem is then the transportation problem of
    `plan_mutual_aid` (least unmet demand, then least transfer cost), and its placements
    (kept at home and received) occupy their units for the stay. By construction no district is
    ever planned above its capacity on any day; each day serves as many arrivals as the beds
    left by earlier days allow. Earlier days are served first: a person waiting today is not
    left without a bed to keep one free for a later arrival.

    Parameters
    ----------
    problem : StayProblem

    Returns
    -------
    StayPlan
    """
    n_r, n_d, n_t = problem.arrivals.shape
    stays = np.array(problem.stay_days)
    occupied = np.zeros(problem.free_capacity.shape)
    shape = (n_r, n_d, n_t)
    kept, sent, received, shortage, usable = (np.zeros(shape) for _ in range(5))
    transfers: list[Transfer] = []
    daily: list[MutualAidPlan] = []
    penalty = problem.transfer_penalty_km
    for t, day in enumerate(problem.days):
        left = problem.free_capacity - occupied
        for r in range(n_r):
            usable[r, :, t] = left[r, :, t : t + stays[r]].min(axis=1)
        day_problem = MutualAidProblem(
            district_codes=problem.district_codes,
            resources=problem.resources,
            days=(day,),
            demand=problem.arrivals[:, :, t : t + 1],
            capacity=usable[:, :, t : t + 1],
            distance_km=problem.distance_km,
            max_travel_km=problem.max_travel_km,
            **({} if penalty is None else {"transfer_penalty_km": penalty}),
        )
        plan = plan_mutual_aid(day_problem)
        daily.append(plan)
        transfers.extend(plan.transfers)
        kept[:, :, t] = plan.kept_at_home[:, :, 0]
        sent[:, :, t] = plan.sent[:, :, 0]
        received[:, :, t] = plan.received[:, :, 0]
        shortage[:, :, t] = plan.shortage[:, :, 0]
        placed = plan.kept_at_home[:, :, 0] + plan.received[:, :, 0]
        for r in range(n_r):
            occupied[r, :, t : t + stays[r]] += placed[r, :, None]
    for array in (kept, sent, received, shortage, occupied, usable):
        array.setflags(write=False)
    return StayPlan(
        transfers=tuple(transfers),
        kept_at_home=kept,
        sent=sent,
        received=received,
        shortage=shortage,
        placed_occupancy=occupied,
        free_for_arrivals=usable,
        daily=tuple(daily),
        total_arrivals=float(problem.arrivals.sum()),
        total_unmet=float(shortage.sum()),
        total_transferred=float(sum(p.total_transferred for p in daily)),
        transferred_unit_km=float(sum(p.transferred_unit_km for p in daily)),
        total_cost=float(sum(p.total_cost for p in daily)),
    )


def keep_at_home(problem: StayProblem) -> FloatArray:
    """The shortage, shape (R, D, T), if every district kept its arrivals to itself.

    The same day-by-day rule as `place_arrivals` without transfers: each day a district takes
    as many of its arrivals as it has units free for their whole stay. The comparison a plan
    must never lose: mutual aid may only add to the demand served.
    """
    n_r, n_d, n_t = problem.arrivals.shape
    stays = problem.stay_days
    occupied = np.zeros(problem.free_capacity.shape)
    shortage = np.zeros((n_r, n_d, n_t))
    for t in range(n_t):
        for r in range(n_r):
            left = problem.free_capacity[r, :, t : t + stays[r]] - occupied[r, :, t : t + stays[r]]
            served = np.minimum(problem.arrivals[r, :, t], left.min(axis=1))
            occupied[r, :, t : t + stays[r]] += served[:, None]
            shortage[r, :, t] = problem.arrivals[r, :, t] - served
    return shortage
