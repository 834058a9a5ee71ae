"""The mutual-aid plan: least unmet demand first, then least transfer cost, within the rules."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from xietong.mutual_aid.plans.allocation import (
    MutualAidPlan,
    MutualAidProblem,
    Transfer,
    plan_mutual_aid,
)
from xietong.resources.vocabulary import CENTRALISED_QUARANTINE_BED, LAB_TUBE

DAY = date(2022, 11, 14)
FloatArray = npt.NDArray[np.float64]


def line_distances(*positions_km: float) -> FloatArray:
    position = np.asarray(positions_km, dtype=np.float64)
    distance: FloatArray = np.abs(position[:, None] - position[None, :])
    return distance


def one_day_beds(
    *,
    demand: Sequence[float],
    capacity: Sequence[float],
    distance_km: FloatArray,
    max_travel_km: float = math.inf,
    transfer_penalty_km: float = 10.0,
) -> MutualAidProblem:
    codes = tuple("ABCDEFGH"[: len(demand)])
    return MutualAidProblem(
        district_codes=codes,
        resources=(CENTRALISED_QUARANTINE_BED,),
        days=(DAY,),
        demand=np.array(demand, dtype=float).reshape(1, -1, 1),
        capacity=np.array(capacity, dtype=float).reshape(1, -1, 1),
        distance_km=distance_km,
        max_travel_km=max_travel_km,
        transfer_penalty_km=transfer_penalty_km,
    )


def bed(from_code: str, to_code: str, amount: float, day: date = DAY) -> Transfer:
    return Transfer(
        resource=CENTRALISED_QUARANTINE_BED,
        from_code=from_code,
        to_code=to_code,
        day=day,
        amount=amount,
    )


# --- hand-solved instances -------------------------------------------------------------------


def test_a_district_short_of_beds_sends_its_overflow_to_the_nearest_neighbour_with_room() -> None:
    # A needs 8 and has 5; B (10 km) has 4 spare, C (30 km) has 10 spare.
    problem = one_day_beds(
        demand=[8, 2, 0], capacity=[5, 6, 10], distance_km=line_distances(0, 10, 30)
    )
    plan = plan_mutual_aid(problem)
    assert plan.transfers == (bed("A", "B", 3.0),)
    assert plan.total_unmet == 0
    assert plan.total_cost == pytest.approx(3 * (10 + 10))
    assert plan.transferred_unit_km == pytest.approx(30)
    assert plan.kept_at_home[0, :, 0].tolist() == [5, 2, 0]
    assert plan.spare_capacity[0, :, 0].tolist() == [0, 1, 10]
    assert plan.status == "optimal"
    assert plan.integral


def test_the_overflow_spills_to_the_next_nearest_once_the_nearest_is_full() -> None:
    problem = one_day_beds(
        demand=[8, 5, 0], capacity=[5, 6, 10], distance_km=line_distances(0, 10, 30)
    )
    plan = plan_mutual_aid(problem)
    assert plan.transfers == (bed("A", "B", 1.0), bed("A", "C", 2.0))
    assert plan.total_unmet == 0


def test_the_maximum_travel_distance_excludes_a_far_district_and_leaves_a_shortage() -> None:
    problem = one_day_beds(
        demand=[8, 5, 0],
        capacity=[5, 6, 10],
        distance_km=line_distances(0, 10, 100),
        max_travel_km=50,
    )
    plan = plan_mutual_aid(problem)
    assert plan.transfers == (bed("A", "B", 1.0),)
    assert plan.shortage[0, :, 0].tolist() == [2, 0, 0]
    assert plan.total_unmet == 2


def test_a_district_with_room_for_its_own_demand_keeps_everyone_at_home() -> None:
    problem = one_day_beds(demand=[3, 0], capacity=[10, 10], distance_km=line_distances(0, 5))
    plan = plan_mutual_aid(problem)
    assert plan.transfers == ()
    assert plan.kept_at_home[0, :, 0].tolist() == [3, 0]
    assert plan.total_cost == 0


def test_meeting_demand_outranks_any_transfer_cost() -> None:
    problem = one_day_beds(demand=[1, 0], capacity=[0, 1], distance_km=line_distances(0, 400))
    plan = plan_mutual_aid(problem)
    assert plan.transfers == (bed("A", "B", 1.0),)
    assert plan.total_unmet == 0


def test_the_transfer_penalty_keeps_a_district_s_own_people_home_rather_than_chaining_moves() -> (
    None
):
    # B must send 2 out. Via A (1 km) with A's own people moved on to C (1 km) is 4 unit-km; the
    # direct road B → C is 5 km. Two moves cost two penalties, so the penalty decides.
    distance = np.array([[0, 1, 1], [1, 0, 5], [1, 5, 0]], dtype=float)
    demand, capacity = [2, 2, 0], [2, 0, 2]
    chained = plan_mutual_aid(
        one_day_beds(demand=demand, capacity=capacity, distance_km=distance, transfer_penalty_km=0)
    )
    assert set(chained.transfers) == {bed("A", "C", 2.0), bed("B", "A", 2.0)}
    direct = plan_mutual_aid(
        one_day_beds(demand=demand, capacity=capacity, distance_km=distance, transfer_penalty_km=10)
    )
    assert direct.transfers == (bed("B", "C", 2.0),)
    assert direct.total_cost == pytest.approx(2 * (5 + 10))


def test_resources_and_days_are_planned_apart_and_transfers_say_which() -> None:
    second_day = DAY + timedelta(days=1)
    demand = np.zeros((2, 2, 2))
    capacity = np.zeros((2, 2, 2))
    demand[0, 0, 1] = 4  # beds needed in A on day 2
    capacity[0, 1, :] = 3  # B has 3 beds each day
    demand[1, 1, 0] = 50  # tubes from B on day 1
    capacity[1, 0, :] = 100  # A's laboratory
    problem = MutualAidProblem(
        district_codes=("A", "B"),
        resources=(CENTRALISED_QUARANTINE_BED, LAB_TUBE),
        days=(DAY, second_day),
        demand=demand,
        capacity=capacity,
        distance_km=line_distances(0, 20),
        max_travel_km=np.array([30.0, 10.0]),
    )
    plan = plan_mutual_aid(problem)
    # Tubes may not travel 20 km; beds may.
    assert plan.transfers == (bed("A", "B", 3.0, day=second_day),)
    assert plan.shortage[0, 0, 1] == 1
    assert plan.shortage[1, 1, 0] == 50
    assert plan.total_unmet == 51


def test_fractional_demand_from_a_forecast_is_planned_in_fractions() -> None:
    problem = one_day_beds(demand=[2.5, 0], capacity=[1.25, 3.0], distance_km=line_distances(0, 5))
    plan = plan_mutual_aid(problem)
    assert not plan.integral
    (transfer,) = plan.transfers
    assert transfer.amount == pytest.approx(1.25)
    assert plan.total_unmet == pytest.approx(0.0, abs=1e-9)


def test_no_demand_gives_an_empty_plan() -> None:
    plan = plan_mutual_aid(one_day_beds(demand=[0, 0], capacity=[0, 4], distance_km=np.eye(2)))
    assert plan.transfers == ()
    assert plan.total_unmet == plan.total_cost == plan.total_transferred == 0


def test_the_plan_s_arrays_are_read_only() -> None:
    problem = one_day_beds(demand=[1], capacity=[1], distance_km=np.zeros((1, 1)))
    plan = plan_mutual_aid(problem)
    with pytest.raises(ValueError, match="read-only"):
        plan.shortage[0, 0, 0] = 5
    with pytest.raises(ValueError, match="read-only"):
        problem.demand[0, 0, 0] = 5


# --- validation ----------------------------------------------------------------------------


def problem_kwargs() -> dict[str, object]:
    return {
        "district_codes": ("500106", "500107"),
        "resources": (CENTRALISED_QUARANTINE_BED, LAB_TUBE),
        "days": (DAY, DAY + timedelta(days=1)),
        "demand": np.ones((2, 2, 2)),
        "capacity": np.ones((2, 2, 2)),
        "distance_km": line_distances(0, 12),
    }


def test_negative_demand_is_refused_naming_the_resource_district_and_day() -> None:
    kwargs = problem_kwargs()
    demand = np.ones((2, 2, 2))
    demand[1, 0, 1] = -3
    kwargs["demand"] = demand
    with pytest.raises(
        ValueError,
        match=r"demand: .*-3\.0 at resource 'lab_tube' \(index 1\), district '500106' "
        r"\(index 0\), day 2022-11-15 \(index 1\)",
    ):
        MutualAidProblem(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", np.full((2, 2, 2), np.nan), r"capacity: must be finite"),
        ("capacity", np.ones((2, 2)), r"capacity: expected shape .* \(2, 2, 2\), got \(2, 2\)"),
        ("demand", np.ones((2, 3, 2)), r"demand: expected shape"),
        ("distance_km", np.ones((3, 3)), r"distance_km: expected shape \(2, 2\)"),
        (
            "distance_km",
            np.array([[0.0, -1.0], [1.0, 0.0]]),
            r"distance_km: .* from district '500106' \(index 0\) to '500107' \(index 1\)",
        ),
        ("district_codes", ("500106", "500106"), r"district_codes: '500106' appears more"),
        ("district_codes", ("500106", ""), r"district_codes: entry 1"),
        ("resources", (), r"resources: at least one"),
        ("days", (DAY, DAY), r"days: each day"),
        ("days", (), r"days: at least one"),
        ("max_travel_km", np.array([1.0, 2.0, 3.0]), r"max_travel_km: expected .* \(2,\)"),
        ("max_travel_km", -5.0, r"max_travel_km: .*resource 'centralised_quarantine_bed'"),
        ("transfer_penalty_km", np.array([1.0, math.inf]), r"transfer_penalty_km: .*'lab_tube'"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(field: str, value: object, message: str) -> None:
    kwargs = problem_kwargs()
    kwargs[field] = value
    with pytest.raises(ValueError, match=message):
        MutualAidProblem(**kwargs)  # type: ignore[arg-type]


def test_unlimited_travel_and_a_diagonal_left_unset_are_accepted() -> None:
    kwargs = problem_kwargs()
    kwargs["distance_km"] = np.array([[np.nan, 3.0], [3.0, 7.0]])
    problem = MutualAidProblem(**kwargs)  # type: ignore[arg-type]
    assert problem.distance_km.tolist() == [[0.0, 3.0], [3.0, 0.0]]
    assert problem.allowed_transfers.all()


# --- properties ----------------------------------------------------------------------------


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    max_districts: int = 5,
    max_amount: int = 30,
    whole_numbers: bool = True,
    metric: bool = False,
) -> MutualAidProblem:
    n_d = draw(st.integers(1, max_districts))
    n_r = draw(st.integers(1, 2))
    n_t = draw(st.integers(1, 2))
    shape = (n_r, n_d, n_t)
    if whole_numbers:
        amounts = st.integers(0, max_amount).map(float)
    else:
        amounts = st.floats(0, max_amount, allow_nan=False, allow_subnormal=False)
    demand = np.array(draw(st.lists(amounts, min_size=n_r * n_d * n_t, max_size=n_r * n_d * n_t)))
    capacity = np.array(draw(st.lists(amounts, min_size=n_r * n_d * n_t, max_size=n_r * n_d * n_t)))
    coordinates = st.integers(0, 50)
    points = np.array(
        draw(st.lists(st.tuples(coordinates, coordinates), min_size=n_d, max_size=n_d)), dtype=float
    )
    distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    if not metric:
        # Road distances need not be symmetric nor obey the triangle inequality.
        distance = distance * np.array(
            draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=n_d * n_d, max_size=n_d * n_d))
        ).reshape(n_d, n_d)
    max_travel = math.inf if metric else draw(st.sampled_from([math.inf, 0.0, 20.0, 40.0]))
    penalty = draw(st.sampled_from([1.0, 10.0])) if metric else draw(st.sampled_from([0.0, 5.0]))
    return MutualAidProblem(
        district_codes=tuple(f"D{k}" for k in range(n_d)),
        resources=tuple(f"resource{k}" for k in range(n_r)),
        days=tuple(DAY + timedelta(days=k) for k in range(n_t)),
        demand=demand.reshape(shape),
        capacity=capacity.reshape(shape),
        distance_km=distance,
        max_travel_km=max_travel,
        transfer_penalty_km=penalty,
    )


def moved_per_district(
    plan: MutualAidPlan, problem: MutualAidProblem
) -> tuple[FloatArray, FloatArray]:
    sent = np.zeros(problem.demand.shape)
    received = np.zeros(problem.demand.shape)
    index = {code: k for k, code in enumerate(problem.district_codes)}
    resource = {name: k for k, name in enumerate(problem.resources)}
    day = {d: k for k, d in enumerate(problem.days)}
    for transfer in plan.transfers:
        r, t = resource[transfer.resource], day[transfer.day]
        sent[r, index[transfer.from_code], t] += transfer.amount
        received[r, index[transfer.to_code], t] += transfer.amount
    return sent, received


@given(instances(whole_numbers=False))
def test_nothing_is_placed_above_a_district_s_capacity(problem: MutualAidProblem) -> None:
    plan = plan_mutual_aid(problem)
    used = plan.kept_at_home + plan.received
    assert np.all(used <= problem.capacity + 1e-6)
    np.testing.assert_allclose(used + plan.spare_capacity, problem.capacity, atol=1e-6)


@given(instances(whole_numbers=False))
def test_served_plus_unmet_equals_demand(problem: MutualAidProblem) -> None:
    plan = plan_mutual_aid(problem)
    np.testing.assert_allclose(
        plan.kept_at_home + plan.sent + plan.shortage, problem.demand, atol=1e-6
    )
    assert np.all(plan.shortage >= 0)
    assert plan.total_unmet == pytest.approx(plan.shortage.sum())


@given(instances(whole_numbers=False))
def test_no_plan_meets_less_demand_than_keeping_everyone_at_home(
    problem: MutualAidProblem,
) -> None:
    plan = plan_mutual_aid(problem)
    at_home = np.minimum(problem.demand, problem.capacity)
    served = problem.demand - plan.shortage
    assert np.all(served.sum(axis=1) >= at_home.sum(axis=1) - 1e-6)


@given(instances())
def test_transfers_are_positive_whole_amounts_between_districts_within_travel_range(
    problem: MutualAidProblem,
) -> None:
    plan = plan_mutual_aid(problem)
    index = {code: k for k, code in enumerate(problem.district_codes)}
    resource = {name: k for k, name in enumerate(problem.resources)}
    assert plan.integral
    for transfer in plan.transfers:
        i, j = index[transfer.from_code], index[transfer.to_code]
        assert i != j
        assert transfer.amount > 0 and transfer.amount == round(transfer.amount)
        max_travel = np.asarray(problem.max_travel_km)[resource[transfer.resource]]
        assert problem.distance_km[i, j] <= max_travel
    sent, received = moved_per_district(plan, problem)
    np.testing.assert_array_equal(sent, plan.sent)
    np.testing.assert_array_equal(received, plan.received)
    assert plan.total_transferred == sum(t.amount for t in plan.transfers)


@given(instances(metric=True))
def test_with_straight_line_distances_every_district_keeps_what_it_can_at_home(
    problem: MutualAidProblem,
) -> None:
    # Moving a person out to free a bed for a neighbour never beats the neighbour's direct road
    # (triangle inequality) and costs one more penalty, so a home bed is never given away.
    plan = plan_mutual_aid(problem)
    np.testing.assert_array_equal(plan.kept_at_home, np.minimum(problem.demand, problem.capacity))


def brute_force_optimum(problem: MutualAidProblem) -> tuple[float, float]:
    """Least (unmet, cost) over every whole-number assignment of one resource on one day."""
    demand = problem.demand[0, :, 0].astype(int)
    capacity = problem.capacity[0, :, 0]
    allowed = problem.allowed_transfers[0]
    penalty = float(np.asarray(problem.transfer_penalty_km)[0])
    n = demand.size
    cost = problem.distance_km + penalty * (1 - np.eye(n))
    choices = []
    for i in range(n):
        targets = np.flatnonzero(allowed[i])
        options = []
        for amounts in itertools.product(range(demand[i] + 1), repeat=targets.size):
            if sum(amounts) <= demand[i]:
                row = np.zeros(n)
                row[targets] = amounts
                options.append(row)
        choices.append(options)
    best = (math.inf, math.inf)
    for rows in itertools.product(*choices):
        flow = np.array(rows)
        if np.any(flow.sum(axis=0) > capacity):
            continue
        candidate = (float(demand.sum() - flow.sum()), float((flow * cost).sum()))
        best = min(best, candidate)
    return best


@settings(max_examples=60)
@given(
    n_d=st.integers(2, 3),
    data=st.data(),
)
def test_the_plan_equals_a_brute_force_optimum_on_tiny_instances(
    n_d: int, data: st.DataObject
) -> None:
    small = st.integers(0, 3).map(float)
    demand = np.array(data.draw(st.lists(small, min_size=n_d, max_size=n_d)))
    capacity = np.array(data.draw(st.lists(small, min_size=n_d, max_size=n_d)))
    distance = np.array(
        data.draw(st.lists(st.integers(1, 9).map(float), min_size=n_d * n_d, max_size=n_d * n_d))
    ).reshape(n_d, n_d)
    problem = MutualAidProblem(
        district_codes=tuple(f"D{k}" for k in range(n_d)),
        resources=(CENTRALISED_QUARANTINE_BED,),
        days=(DAY,),
        demand=demand.reshape(1, n_d, 1),
        capacity=capacity.reshape(1, n_d, 1),
        distance_km=distance,
        max_travel_km=data.draw(st.sampled_from([math.inf, 5.0])),
        transfer_penalty_km=data.draw(st.sampled_from([0.0, 2.0])),
    )
    plan = plan_mutual_aid(problem)
    unmet, cost = brute_force_optimum(problem)
    assert plan.total_unmet == unmet
    assert plan.total_cost == pytest.approx(cost, abs=1e-9)


def two_solve_optimum(problem: MutualAidProblem, *, r: int, t: int) -> tuple[float, float]:
    """The textbook lexicographic method on one block: most served, then least cost at that."""
    allowed = problem.allowed_transfers[r]
    origin, destination = np.nonzero(allowed)
    n_d = allowed.shape[0]
    demand, capacity = problem.demand[r, :, t], problem.capacity[r, :, t]
    penalty = float(np.asarray(problem.transfer_penalty_km)[r])
    cost = problem.distance_km[origin, destination] + penalty * (origin != destination)
    rows = np.zeros((2 * n_d, origin.size))
    rows[destination, np.arange(origin.size)] = 1
    rows[n_d + origin, np.arange(origin.size)] = 1
    bounds = np.concatenate([capacity, demand])
    most = linprog(-np.ones(origin.size), A_ub=rows, b_ub=bounds, method="highs")
    served = -most.fun
    least = linprog(
        cost,
        A_ub=np.vstack([rows, -np.ones(origin.size)]),
        b_ub=np.append(bounds, -served + 1e-7),
        method="highs",
    )
    return float(demand.sum() - served), float(least.fun)


@settings(max_examples=60)
@given(instances(max_districts=8, max_amount=60))
def test_the_single_weighted_solve_equals_two_lexicographic_solves(
    problem: MutualAidProblem,
) -> None:
    plan = plan_mutual_aid(problem)
    n_r, _, n_t = problem.demand.shape
    penalty = np.asarray(problem.transfer_penalty_km)
    for r in range(n_r):
        for t in range(n_t):
            unmet, cost = two_solve_optimum(problem, r=r, t=t)
            assert plan.shortage[r, :, t].sum() == pytest.approx(unmet, abs=1e-6)
            block = [
                transfer
                for transfer in plan.transfers
                if transfer.resource == problem.resources[r] and transfer.day == problem.days[t]
            ]
            index = {code: k for k, code in enumerate(problem.district_codes)}
            block_cost = sum(
                transfer.amount
                * (
                    problem.distance_km[index[transfer.from_code], index[transfer.to_code]]
                    + penalty[r]
                )
                for transfer in block
            )
            assert block_cost == pytest.approx(cost, abs=1e-4)


def test_amounts_near_the_solver_s_tolerance_still_give_a_plan() -> None:
    problem = one_day_beds(demand=[1e-7, 0, 1e-7], capacity=[0, 0, 1], distance_km=np.zeros((3, 3)))
    plan = plan_mutual_aid(problem)
    assert plan.total_unmet <= 2e-7
    assert np.all(plan.kept_at_home + plan.received <= problem.capacity + 1e-9)
