"""Wall time of the mutual-aid plan: D districts x 3 resources x days, beds and tubes moved.

A synthetic city of ten million residents in an outbreak growing about 10 % a day (some 2,000 new
infections a day at the start, as in the reference outbreak), ten close contacts per case, and
every-other-day 10-in-1 screening. Districts have uneven quarantine sites, makeshift hospitals
and laboratories. Distances are Chongqing's when the bundled area data is present, else from
random coordinates. Only the plan is timed; the figure to meet is 40 x 3 x 14 under 1 s.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from importlib import resources

import numpy as np
import numpy.typing as npt

from xietong.mutual_aid.plans.allocation import MutualAidProblem, plan_mutual_aid
from xietong.resources.vocabulary import (
    CENTRALISED_QUARANTINE_BED,
    LAB_TUBE,
    MAKESHIFT_HOSPITAL_BED,
)

CITY_POPULATION = 10_000_000
FIRST_DAY = date(2022, 11, 14)
RESOURCES = (CENTRALISED_QUARANTINE_BED, MAKESHIFT_HOSPITAL_BED, LAB_TUBE)
# Quarantined contacts may go to a neighbouring district's sites, cases to a makeshift hospital
# further away, and samples travel furthest.
MAX_TRAVEL_KM = np.array([60.0, 120.0, 200.0])
TRANSFER_PENALTY_KM = 10.0


def chongqing_distances(districts: int) -> tuple[tuple[str, ...], npt.NDArray[np.float64]] | None:
    """The first districts of the bundled distance matrix, if it is there and large enough."""
    try:
        text = resources.files("xietong.areas.data").joinpath("chongqing.json").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    table = json.loads(text)["distance_km"]
    if len(table["codes"]) < districts:
        return None
    matrix = np.array(table["matrix"], dtype=np.float64)[:districts, :districts]
    return tuple(table["codes"][:districts]), matrix


def synthetic_problem(
    *, districts: int, days: int, rng: np.random.Generator, random_distances: bool = False
) -> MutualAidProblem:
    bundled = None if random_distances else chongqing_distances(districts)
    if bundled is None:
        codes = tuple(f"D{k:02d}" for k in range(districts))
        position = rng.uniform(0.0, 150.0, size=(districts, 2))
        distance = np.hypot(*(position[:, None, :] - position[None, :, :]).transpose(2, 0, 1))
    else:
        codes, distance = bundled

    weights = rng.lognormal(mean=0.0, sigma=0.6, size=districts)
    population = CITY_POPULATION * weights / weights.sum()
    # New infections: a few hot districts carry most of the outbreak.
    share = rng.dirichlet(np.full(districts, 0.5))
    growth = np.exp(0.10 * np.arange(days))
    cases = rng.poisson(2000.0 * np.outer(share, growth))
    contacts = rng.poisson(10.0 * cases)
    tubes = rng.poisson(np.outer(population / 10.0 / 2.0, np.ones(days)) * 1.05)

    demand = np.stack([contacts, cases, tubes]).astype(np.float64)
    # Free capacity per day, uneven: some districts have no makeshift hospital at all.
    quarantine = rng.lognormal(np.log(population * 3.5e-3), 0.8)
    makeshift = rng.lognormal(np.log(population * 1.2e-3), 0.8) * (rng.random(districts) < 0.4)
    laboratory = rng.lognormal(np.log(population / 20.0 * 1.1), 0.7)
    base = np.stack([quarantine, makeshift, laboratory])
    capacity = rng.poisson(base[:, :, None] * np.ones(days)).astype(np.float64)

    return MutualAidProblem(
        district_codes=codes,
        resources=RESOURCES,
        days=tuple(FIRST_DAY + timedelta(days=k) for k in range(days)),
        demand=demand,
        capacity=capacity,
        distance_km=distance,
        max_travel_km=MAX_TRAVEL_KM,
        transfer_penalty_km=TRANSFER_PENALTY_KM,
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--districts", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20221114)
    parser.add_argument(
        "--random-distances",
        action="store_true",
        help="distances from random coordinates even when Chongqing's are bundled",
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    problem = synthetic_problem(
        districts=args.districts, days=args.days, rng=rng, random_distances=args.random_distances
    )
    chongqing = problem.district_codes[0] != "D00"
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        plan = plan_mutual_aid(problem)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    at_home = float(np.minimum(problem.demand, problem.capacity).sum())
    figures = {
        "districts": float(args.districts),
        "resources": float(len(problem.resources)),
        "days": float(args.days),
        "chongqing_distances": float(chongqing),
        "best_seconds": best,
        "variables": float(plan.variable_count),
        "constraints": float(plan.constraint_count),
        "total_demand": float(problem.demand.sum()),
        "total_unmet": plan.total_unmet,
        "unmet_if_kept_at_home": float(problem.demand.sum()) - at_home,
        "transfers": float(len(plan.transfers)),
        "total_transferred": plan.total_transferred,
        "transferred_unit_km": plan.transferred_unit_km,
    }
    print(
        f"mutual-aid plan: {args.districts} districts x {len(problem.resources)} resources x "
        f"{args.days} days ({'Chongqing' if chongqing else 'random'} distances), "
        f"{plan.variable_count:,} variables, {plan.constraint_count:,} "
        f"constraints, best of {args.repeats}: {best:.3f} s; "
        f"unmet {plan.total_unmet:,.0f} of {problem.demand.sum():,.0f} "
        f"({figures['unmet_if_kept_at_home']:,.0f} if every district kept to itself); "
        f"{len(plan.transfers):,} transfers moving {plan.total_transferred:,.0f}"
    )
    return figures


if __name__ == "__main__":
    main()
