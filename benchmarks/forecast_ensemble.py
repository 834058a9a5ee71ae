"""Wall time of a district forecast ensemble: D districts x days x runs of the stochastic SEIR.

The synthetic city has ten million residents spread over the districts, a gravity mobility
matrix, and an outbreak calibrated to ten days of growing detections (about the reference
outbreak's pace). Only the forecast is timed; the figure to meet is 40 x 90 x 1,000 under 2 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xietong.analytics.core.calibration import calibrate
from xietong.analytics.core.ensemble import forecast
from xietong.analytics.core.mobility import gravity_mobility
from xietong.analytics.core.seir import Scenario

CITY_POPULATION = 10_000_000


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--districts", type=int, default=40)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="threads sharing the ensemble")
    parser.add_argument("--seed", type=int, default=20221114)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    districts = args.districts
    weights = rng.lognormal(mean=0.0, sigma=0.5, size=districts)
    population = np.round(CITY_POPULATION * weights / weights.sum())
    position = rng.uniform(0.0, 60.0, size=(districts, 2))
    distance = np.hypot(*(position[:, None, :] - position[None, :, :]).transpose(2, 0, 1))
    mobility = gravity_mobility(population=population, distance_km=distance + np.eye(districts))
    recent_days = np.arange(10)
    expected = np.outer(np.exp(0.12 * recent_days), rng.uniform(0.5, 40.0, size=districts))
    detections = rng.poisson(expected)
    policy = Scenario(screening_interval_days=2.0, isolation_delay_days=1)

    started = time.perf_counter()
    calibration = calibrate(
        detections=detections,
        population=population,
        contact_share=mobility.contact_share,
        scenario=policy,
    )
    calibrate_seconds = time.perf_counter() - started

    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = forecast(
            calibration.model,
            scenario=policy,
            horizon_days=args.days,
            runs=args.runs,
            rng=rng,
            workers=args.workers,
        )
        timings.append(time.perf_counter() - started)
    best = min(timings)
    figures = {
        "districts": float(districts),
        "days": float(args.days),
        "runs": float(args.runs),
        "workers": float(args.workers),
        "best_seconds": best,
        "runs_per_second": args.runs / best,
        "calibrate_seconds": calibrate_seconds,
        "median_city_infections_last_day": float(result.city_infections.median[-1]),
    }
    print(
        f"forecast ensemble: {districts} districts x {args.days} days x {args.runs} runs, "
        f"{args.workers} worker(s), best of {args.repeats}: {best:.3f} s "
        f"({args.runs / best:,.0f} runs/s); "
        f"calibration {calibrate_seconds * 1000:.1f} ms"
    )
    return figures


if __name__ == "__main__":
    main()
