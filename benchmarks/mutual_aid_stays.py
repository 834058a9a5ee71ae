"""Wall time of the mutual-aid plan over days, as the system runs it: arrivals who keep their bed
for the policy's stay (5 days of centralised quarantine, 7 in a makeshift hospital, a tube once),
planned day after day on the beds still free for the whole stay.

Two figures: the pure planner (`xietong.mutual_aid.plans.placement`) on the synthetic city of
`benchmarks/mutual_aid_plan.py` (D districts x 3 resources x days), and the whole proposal from
stored data (`flows.propose_plan`: capacity from the facility, laboratory and report tables,
distances, planning, storing the flow table) on a fresh SQLite database with Chongqing's 41
districts. The figure to meet is 40 x 3 x 14 under 1 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.mutual_aid_plan import MAX_TRAVEL_KM, TRANSFER_PENALTY_KM, synthetic_problem
from xietong.mutual_aid.plans.placement import StayProblem, keep_at_home, place_arrivals

STAYS = (5, 7, 1)  # centralised quarantine (policy default), makeshift hospital, tube


def stay_problem(*, districts: int, days: int, seed: int) -> StayProblem:
    one_day = synthetic_problem(districts=districts, days=days, rng=np.random.default_rng(seed))
    extra = max(STAYS) - 1
    # The synthetic capacity is beds free per day; an arrival keeps its bed for its stay, so the
    # standing stock is the daily figure times the stay.
    stock = one_day.capacity * np.array(STAYS, dtype=float)[:, None, None]
    free = np.concatenate([stock, np.repeat(stock[:, :, -1:], extra, axis=2)], axis=2)
    return StayProblem(
        district_codes=one_day.district_codes,
        resources=one_day.resources,
        days=one_day.days,
        arrivals=one_day.demand,
        free_capacity=free,
        stay_days=STAYS,
        distance_km=np.asarray(one_day.distance_km),
        max_travel_km=MAX_TRAVEL_KM,
        transfer_penalty_km=TRANSFER_PENALTY_KM,
    )


def time_stored(days: int, seed: int) -> dict[str, float]:
    """Propose a plan from a database holding a site, a hospital and a laboratory per district."""
    from sqlalchemy.orm import Session

    from xietong.areas import service as areas_service
    from xietong.bootstrap import prepare_database
    from xietong.core.principal import SYSTEM
    from xietong.mutual_aid.plans import service as flows
    from xietong.mutual_aid.schemas import PlanRequest
    from xietong.resources.models import Facility, Laboratory
    from xietong.storage.engine import build_engine

    rng = np.random.default_rng(seed)
    now = datetime(2022, 11, 14, 2, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = build_engine(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        prepare_database(engine)
        with Session(engine) as session, session.begin():
            codes = [d.code for d in areas_service.list_districts(session)]
            ids = areas_service.district_id_by_code(session)
            for code in codes:
                for kind, beds in (("centralised_quarantine", 3000), ("makeshift_hospital", 800)):
                    session.add(
                        Facility(
                            code=f"B-{kind[:2]}-{code}",
                            name=code,
                            district_id=ids[code],
                            kind=kind,
                            beds=int(rng.lognormal(np.log(beds), 0.8)),
                            active=True,
                            updated_at=now,
                        )
                    )
                session.add(
                    Laboratory(
                        code=f"B-L-{code}",
                        name=code,
                        district_id=ids[code],
                        tubes_per_day=int(rng.lognormal(np.log(12_000), 0.7)),
                        active=True,
                        updated_at=now,
                    )
                )
        share = rng.dirichlet(np.full(len(codes), 0.5))
        cases = rng.poisson(2000.0 * np.outer(share, np.exp(0.10 * np.arange(days))))
        request = PlanRequest(
            first_day=now.date(),
            days=days,
            forecast_new_cases={c: cases[i].tolist() for i, c in enumerate(codes)},
            planned_tubes={c: [12_000.0] * days for c in codes},
            in_use={},
            max_travel_km=60,
        )
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            read = flows.propose_plan(
                session, principal=SYSTEM, request=request, tz="Asia/Shanghai", now=now
            )
            seconds = time.perf_counter() - started
        engine.dispose()
    return {
        "stored_districts": float(len(codes)),
        "stored_seconds": seconds,
        "stored_transfers": float(len(read.transfers)),
        "stored_unmet": float(read.total_unmet),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--districts", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20221114)
    parser.add_argument("--no-database", action="store_true", help="skip the stored-data figure")
    args = parser.parse_args(argv)

    problem = stay_problem(districts=args.districts, days=args.days, seed=args.seed)
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        plan = place_arrivals(problem)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    at_home = float(keep_at_home(problem).sum())
    figures = {
        "districts": float(args.districts),
        "resources": float(len(problem.resources)),
        "days": float(args.days),
        "best_seconds": best,
        "total_arrivals": plan.total_arrivals,
        "total_unmet": plan.total_unmet,
        "unmet_if_kept_at_home": at_home,
        "transfers": float(len(plan.transfers)),
        "total_transferred": plan.total_transferred,
    }
    print(
        f"mutual-aid plan over stays: {args.districts} districts x {len(problem.resources)} "
        f"resources x {args.days} days, best of {args.repeats}: {best:.3f} s; unmet "
        f"{plan.total_unmet:,.0f} of {plan.total_arrivals:,.0f} ({at_home:,.0f} if every "
        f"district kept to itself); {len(plan.transfers):,} transfers moving "
        f"{plan.total_transferred:,.0f}"
    )
    if not args.no_database:
        stored = time_stored(args.days, args.seed)
        figures.update(stored)
        print(
            f"proposed from stored data: {stored['stored_districts']:.0f} districts x 3 "
            f"resources x {args.days} days in {stored['stored_seconds']:.3f} s "
            f"({stored['stored_transfers']:,.0f} transfers, {stored['stored_unmet']:,.0f} unmet)"
        )
    return figures


if __name__ == "__main__":
    main()
