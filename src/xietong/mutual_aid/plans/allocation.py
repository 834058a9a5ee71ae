"""The mutual-aid plan: which district's demand for beds and laboratory tubes is served where.

Owns the linear program that moves demand to spare capacity across districts (unmet demand first,
then transfer cost) and the frozen problem and plan that go in and out of it. Pure: no database.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog

__all__ = [
    "MutualAidPlan",
    "MutualAidProblem",
    "Transfer",
    "plan_mutual_aid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Default penalty per transferred unit, in km: a transfer must save more than this much travel
# elsewhere before the plan sends anyone out of their home district.
DEFAULT_TRANSFER_PENALTY_KM = 10.0


@dataclass(frozen=True, eq=False, kw_only=True)
class MutualAidProblem:
    """Demand and capacity per resource, district and day, and the rules of travel between them.

    Days are planned independently: a bed's capacity on a day is what is free that day, so the
    caller nets out beds still occupied by persons placed on earlier days (a close contact stays
    for the quarantine duration of the policy). Resources do not substitute for one another; a
    caller who lets makeshift-hospital beds take quarantined contacts merges the two resources.

    Attributes
    ----------
    district_codes : tuple of str, length D
        Reporting units, unique.
    resources : tuple of str, length R
        Resource kinds, unique, e.g. ``centralised_quarantine_bed``, ``makeshift_hospital_bed``,
        ``lab_tube``. Amounts are in the resource's own unit (persons, tubes).
    days : tuple of date, length T
        Planning days, unique.
    demand : ndarray, shape (R, D, T)
        ``demand[r, d, t]``: amount of resource ``r`` needed by district ``d`` on day ``t``;
        finite and non-negative.
    capacity : ndarray, shape (R, D, T)
        ``capacity[r, d, t]``: amount district ``d`` can provide on day ``t`` (net of occupancy);
        finite and non-negative.
    distance_km : ndarray, shape (D, D)
        Travel distance from district ``i`` to district ``j``; finite and non-negative, diagonal
        ignored (treated as zero).
    max_travel_km : float or ndarray, shape (R,)
        Longest transfer allowed per resource; ``inf`` means no limit. Stored as shape (R,).
    transfer_penalty_km : float or ndarray, shape (R,)
        Cost added to every unit leaving its home district, in km-equivalents: the preference for
        the home district. Stored as shape (R,).
    """

    district_codes: tuple[str, ...]
    resources: tuple[str, ...]
    days: tuple[date, ...]
    demand: FloatArray
    capacity: FloatArray
    distance_km: FloatArray
    max_travel_km: float | FloatArray = math.inf
    transfer_penalty_km: float | FloatArray = DEFAULT_TRANSFER_PENALTY_KM

    def __post_init__(self) -> None:
        codes = _labels("district_codes", self.district_codes)
        resources = _labels("resources", self.resources)
        days = tuple(self.days)
        if not days:
            raise ValueError("days: at least one day is needed")
        if len(set(days)) != len(days):
            raise ValueError("days: each day may appear only once")
        shape = (len(resources), len(codes), len(days))
        demand = _cube("demand", self.demand, shape, resources, codes, days)
        capacity = _cube("capacity", self.capacity, shape, resources, codes, days)
        distance = np.array(self.distance_km, dtype=np.float64)
        if distance.shape != (len(codes), len(codes)):
            raise ValueError(
                f"distance_km: expected shape ({len(codes)}, {len(codes)}), got {distance.shape}"
            )
        bad = ~np.isfinite(distance) | (distance < 0)
        np.fill_diagonal(bad, False)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise ValueError(
                f"distance_km: must be finite and non-negative, got {distance[i, j]} from "
                f"district {codes[i]!r} (index {i}) to {codes[j]!r} (index {j})"
            )
        np.fill_diagonal(distance, 0.0)
        max_travel = _per_resource("max_travel_km", self.max_travel_km, resources, allow_inf=True)
        penalty = _per_resource(
            "transfer_penalty_km", self.transfer_penalty_km, resources, allow_inf=False
        )
        for name, value in (
            ("district_codes", codes),
            ("resources", resources),
            ("days", days),
            ("demand", demand),
            ("capacity", capacity),
            ("distance_km", distance),
            ("max_travel_km", max_travel),
            ("transfer_penalty_km", penalty),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def allowed_transfers(self) -> npt.NDArray[np.bool_]:
        """``allowed[r, i, j]``: may demand of ``i`` be served in ``j`` (always if i == j)."""
        within = self.distance_km[None, :, :] <= np.asarray(self.max_travel_km)[:, None, None]
        return within | np.eye(len(self.district_codes), dtype=bool)[None, :, :]


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """Amount of a district's demand served in another district on a day."""

    resource: str
    from_code: str
    to_code: str
    day: date
    amount: float


@dataclass(frozen=True, eq=False, kw_only=True)
class MutualAidPlan:
    """The lexicographic optimum: least unmet demand, then least transfer cost.

    Attributes
    ----------
    transfers : tuple of Transfer
        Only between distinct districts and positive amounts, ordered by resource, day, sending
        district, receiving district (in the problem's order).
    kept_at_home : ndarray, shape (R, D, T)
        Demand served in its own district.
    sent : ndarray, shape (R, D, T)
        Demand of the district served elsewhere.
    received : ndarray, shape (R, D, T)
        Other districts' demand served in the district.
    shortage : ndarray, shape (R, D, T)
        Unmet demand of the district; ``kept_at_home + sent + shortage == demand``.
    spare_capacity : ndarray, shape (R, D, T)
        Capacity left unused; ``kept_at_home + received + spare_capacity == capacity``.
    total_unmet : float
        Sum of the shortages (the first objective).
    total_cost : float
        Sum over transfers of ``amount * (distance + transfer penalty)`` (the second objective).
    total_transferred : float
        Sum of the transferred amounts.
    transferred_unit_km : float
        Sum over transfers of ``amount * distance``.
    integral : bool
        Demand and capacity were whole numbers, so every amount is a whole number.
    status : str
        ``"optimal"``; a solver failure raises instead.
    solver_message : str
        The solver's own words.
    variable_count, constraint_count : int
        Size of the linear program.
    """

    transfers: tuple[Transfer, ...]
    kept_at_home: FloatArray
    sent: FloatArray
    received: FloatArray
    shortage: FloatArray
    spare_capacity: FloatArray
    total_unmet: float
    total_cost: float
    total_transferred: float
    transferred_unit_km: float
    integral: bool
    status: str
    solver_message: str
    variable_count: int
    constraint_count: int


def plan_mutual_aid(problem: MutualAidProblem) -> MutualAidPlan:
    """Serve as much demand as the districts' capacities allow, then at the least transfer cost.

    Variables are ``x[r, i, j, t]``, the amount of district ``i``'s demand for resource ``r``
    served in district ``j`` on day ``t``, only for ``j == i`` or
    ``distance_km[i, j] <= max_travel_km[r]``.
    The unmet demand ``u[r, i, t] = demand[r, i, t] - sum_j x[r, i, j, t]`` is the slack of the
    demand row, so the constraints ``sum_j x + u = demand, u >= 0`` are written
    ``sum_j x[r, i, j, t] <= demand[r, i, t]``, next to ``sum_i x[r, i, j, t] <= capacity[r, j, t]``
    and ``x >= 0``. Each (resource, day) block is a transportation problem [1]_ [2]_; all blocks
    go into one sparse linear program.

    The objective is lexicographic [3]_: first serve as much demand as possible (least
    ``sum u``), then, among those plans, the least transfer cost ``sum x[r, i, j, t] * c[r, i, j]``
    with ``c[r, i, j] = distance_km[i, j] + transfer_penalty_km[r] * (i != j)``. It is solved as
    one linear program by HiGHS' dual simplex [4]_ with the weight ``M[r] = 1 + D * max c[r]`` on
    unmet demand (``sum x * c + M * sum u`` is ``sum x * (c - M)`` plus a constant), which is
    provably lexicographic. If a plan served less than the most possible, its residual network
    would hold an augmenting path (source, demand node, capacity node, ..., sink) [5]_; a simple
    one visits each district's demand node at most once, so it has at most ``D`` forward arcs of
    cost at most ``max c[r]`` (its backward arcs only save cost), and pushing ``delta`` along it
    changes the objective by at most ``delta * (D * max c[r] - M[r]) < 0``. So every optimum
    serves the most, and among those the weighted objective is the cost plus a constant. One
    solve replaces the textbook two (least unmet, then least cost with unmet held at its
    optimum) without the tolerance the second needs, and in half the time.

    Integrality: the constraint matrix of a transportation problem is totally unimodular, so with
    whole-number demand and capacity every vertex of its feasible set is integral [6]_, and the
    simplex method returns a vertex: amounts of persons and tubes come out whole without an
    integer program (``milp``) or a rounding heuristic. Amounts within the solver's tolerance of a
    whole number are snapped to it, and the snapped plan is checked exactly against the
    constraints.

    Parameters
    ----------
    problem : MutualAidProblem

    Returns
    -------
    MutualAidPlan

    Raises
    ------
    RuntimeError
        If the solver does not report an optimum (the problem itself is always feasible: serving
        nobody is a plan).

    References
    ----------
    .. [1] Hitchcock, F. L. (1941). The distribution of a product from several sources to numerous
       localities. Journal of Mathematics and Physics 20(1-4), 224-230.
    .. [2] Dantzig, G. B. (1951). Application of the simplex method to a transportation problem.
       In T. C. Koopmans (ed.), Activity Analysis of Production and Allocation, 359-373. Wiley.
    .. [3] Ehrgott, M. (2005). Multicriteria Optimization, 2nd ed., chapter 5 (lexicographic
       optimality). Springer.
    .. [4] Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
       Mathematical Programming Computation 10(1), 119-142.
    .. [5] Ford, L. R., & Fulkerson, D. R. (1956). Maximal flow through a network. Canadian
       Journal of Mathematics 8, 399-404.
    .. [6] Hoffman, A. J., & Kruskal, J. B. (1956). Integral boundary points of convex polyhedra.
       In H. W. Kuhn & A. W. Tucker (eds.), Linear Inequalities and Related Systems, 223-246.
       Princeton University Press.
    """
    program = _build_program(problem)
    n_d = len(problem.district_codes)
    # Largest cost of any allowed transfer, per resource, then the weight on each unit served.
    largest_cost = np.zeros(len(problem.resources))
    np.maximum.at(largest_cost, program.resource, program.cost)
    weight = 1.0 + n_d * largest_cost
    result = linprog(
        program.cost - weight[program.resource],
        A_ub=program.rows,
        b_ub=np.concatenate([program.capacity, program.demand]),
        bounds=(0, None),
        # Dual simplex returns a vertex, which the integrality argument relies on.
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"mutual-aid linear program not solved: {result.message}")
    return _read_plan(problem, program, np.asarray(result.x), message=str(result.message))


@dataclass(frozen=True, eq=False)
class _Program:
    """The capacity rows, then the demand rows, each (r, t, d) at ``(r * T + t) * D + d``."""

    cost: FloatArray
    rows: sparse.csr_array
    capacity: FloatArray
    demand: FloatArray
    # Per flow variable: its resource, day, sending and receiving district.
    resource: IntArray
    day: IntArray
    origin: IntArray
    destination: IntArray


def _build_program(problem: MutualAidProblem) -> _Program:
    n_r, n_d, n_t = problem.demand.shape
    allowed = problem.allowed_transfers
    penalty = np.asarray(problem.transfer_penalty_km)
    days = np.arange(n_t)[:, None]
    parts: dict[str, list[npt.NDArray[Any]]] = {
        k: [] for k in ("cost", "resource", "day", "origin", "destination")
    }
    for r in range(n_r):
        origin, destination = np.nonzero(allowed[r])
        pair_cost = problem.distance_km[origin, destination] + penalty[r] * (origin != destination)
        shape = (n_t, origin.size)
        parts["cost"].append(np.broadcast_to(pair_cost, shape).ravel())
        parts["resource"].append(np.full(origin.size * n_t, r, dtype=np.intp))
        parts["day"].append(np.broadcast_to(days, shape).ravel())
        parts["origin"].append(np.broadcast_to(origin, shape).ravel())
        parts["destination"].append(np.broadcast_to(destination, shape).ravel())
    cost, resource, day, origin, destination = (
        np.concatenate(parts[k]) for k in ("cost", "resource", "day", "origin", "destination")
    )
    n_x = cost.size
    n_cells = n_r * n_t * n_d
    block = resource * n_t + day
    # Each flow sits in its destination's capacity row and its origin's demand row.
    rows = sparse.csr_array(
        (
            np.ones(2 * n_x),
            (
                np.concatenate([block * n_d + destination, n_cells + block * n_d + origin]),
                np.tile(np.arange(n_x), 2),
            ),
        ),
        shape=(2 * n_cells, n_x),
    )
    return _Program(
        cost=cost,
        rows=rows,
        capacity=problem.capacity.transpose(0, 2, 1).ravel(),
        demand=problem.demand.transpose(0, 2, 1).ravel(),
        resource=resource,
        day=day,
        origin=origin,
        destination=destination,
    )


def _read_plan(
    problem: MutualAidProblem,
    program: _Program,
    flow: FloatArray,
    *,
    message: str,
) -> MutualAidPlan:
    demand, capacity = problem.demand, problem.capacity
    integral = bool(np.all(demand == np.rint(demand)) and np.all(capacity == np.rint(capacity)))
    scale = max(1.0, float(demand.max(initial=0.0)), float(capacity.max(initial=0.0)))
    # Whole-number data give an integral vertex (see plan_mutual_aid); otherwise drop solver dust.
    flow = np.rint(flow) if integral else np.where(flow > 1e-9 * scale, flow, 0.0)

    shape = demand.shape
    home = program.origin == program.destination
    kept = np.zeros(shape)
    sent = np.zeros(shape)
    received = np.zeros(shape)
    r, t, i, j = program.resource, program.day, program.origin, program.destination
    np.add.at(kept, (r[home], i[home], t[home]), flow[home])
    away = ~home
    np.add.at(sent, (r[away], i[away], t[away]), flow[away])
    np.add.at(received, (r[away], j[away], t[away]), flow[away])

    shortage = demand - kept - sent
    spare = capacity - kept - received
    tolerance = 0.0 if integral else 1e-7 * scale
    if shortage.min(initial=0.0) < -tolerance or spare.min(initial=0.0) < -tolerance:
        raise RuntimeError("mutual-aid linear program returned a plan outside the constraints")
    shortage = np.maximum(shortage, 0.0)
    spare = np.maximum(spare, 0.0)

    moved = np.flatnonzero(away & (flow > 0))
    distance = problem.distance_km[i[moved], j[moved]]
    transfers = tuple(
        Transfer(
            resource=problem.resources[rr],
            from_code=problem.district_codes[ii],
            to_code=problem.district_codes[jj],
            day=problem.days[tt],
            amount=float(amount),
        )
        for rr, tt, ii, jj, amount in zip(
            r[moved].tolist(),
            t[moved].tolist(),
            i[moved].tolist(),
            j[moved].tolist(),
            flow[moved].tolist(),
            strict=True,
        )
    )
    for array in (kept, sent, received, shortage, spare):
        array.setflags(write=False)
    return MutualAidPlan(
        transfers=transfers,
        kept_at_home=kept,
        sent=sent,
        received=received,
        shortage=shortage,
        spare_capacity=spare,
        total_unmet=float(shortage.sum()),
        total_cost=float(program.cost @ flow),
        total_transferred=float(flow[moved].sum()),
        transferred_unit_km=float(distance @ flow[moved]),
        integral=integral,
        status="optimal",
        solver_message=message,
        variable_count=program.cost.size,
        constraint_count=program.rows.shape[0],
    )


def _labels(name: str, values: tuple[str, ...]) -> tuple[str, ...]:
    labels = tuple(values)
    if not labels:
        raise ValueError(f"{name}: at least one is needed")
    for index, label in enumerate(labels):
        if not isinstance(label, str) or not label:
            raise ValueError(f"{name}: entry {index} must be a non-empty string, got {label!r}")
    repeated = [label for label, count in Counter(labels).items() if count > 1]
    if repeated:
        raise ValueError(f"{name}: {repeated[0]!r} appears more than once")
    return labels


def _cube(
    name: str,
    values: npt.ArrayLike,
    shape: tuple[int, int, int],
    resources: tuple[str, ...],
    codes: tuple[str, ...],
    days: tuple[date, ...],
) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(
            f"{name}: expected shape (resources, districts, days) = {shape}, got {array.shape}"
        )
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        r, d, t = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: must be finite and non-negative, got {array[r, d, t]} at resource "
            f"{resources[r]!r} (index {r}), district {codes[d]!r} (index {d}), "
            f"day {days[t].isoformat()} (index {t})"
        )
    return array


def _per_resource(
    name: str, value: float | npt.ArrayLike, resources: tuple[str, ...], *, allow_inf: bool
) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(len(resources), float(array))
    elif array.shape != (len(resources),):
        raise ValueError(
            f"{name}: expected a number or shape ({len(resources)},), got {array.shape}"
        )
    else:
        array = array.copy()
    bad = np.isnan(array) | (array < 0) | (np.isinf(array) & (not allow_inf))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        kind = "non-negative" if allow_inf else "finite and non-negative"
        raise ValueError(
            f"{name}: must be {kind}, got {array[r]} for resource {resources[r]!r} (index {r})"
        )
    return array
