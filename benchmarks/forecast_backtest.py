"""Backtests of the forecast: the wall time of origins x districts, and the scores on Shanghai's
2022 series (city-wide and per district, forecasts from every day of 20 March - 31 May) against
the forecast hub's baseline and persistence, all in one run.

The timed backtest runs on a seeded synthetic series (one wave per district with Poisson noise)
of ``--origins`` forecast dates and ``--districts`` districts; the figure to meet is 100 x 16 in
under a minute, the model's ensemble, its recalibration and both baselines included. The tables
are the ones in docs/analytics.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
from rich.console import Console

from xietong.analytics import backtests
from xietong.analytics.core.backtest import run_backtest
from xietong.analytics.core.growth_forecast import GrowthModel
from xietong.cli.analytics import backtest_table

TARGET_SECONDS = 60.0


def synthetic_series(*, days: int, districts: int, rng: np.random.Generator) -> np.ndarray:
    """Daily counts of one epidemic wave per district: rise, peak at a random day, decline."""
    t = np.arange(days)[:, None]
    peak = rng.uniform(0.3, 0.8, size=districts) * days
    height = rng.lognormal(5.0, 1.0, size=districts)
    rise, fall = rng.uniform(0.1, 0.3, size=districts), rng.uniform(0.05, 0.15, size=districts)
    log_mean = np.log(height) - np.where(t < peak, rise * (peak - t), fall * (t - peak))
    result: np.ndarray = rng.poisson(np.exp(log_mean)).astype(np.float64)
    return result


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", type=int, default=100)
    parser.add_argument("--districts", type=int, default=16)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20220320)
    parser.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also print the backtests on Shanghai's 2022 series",
    )
    args = parser.parse_args(argv)
    console = Console(width=140)

    rng = np.random.default_rng(args.seed)
    window, horizon = GrowthModel().window_days, 14
    series = synthetic_series(
        days=window - 1 + args.origins + horizon, districts=args.districts, rng=rng
    )
    origins = np.arange(window - 1, window - 1 + args.origins)
    started = time.perf_counter()
    result = run_backtest(series, origins=origins, rng=rng, runs=args.runs)
    seconds = time.perf_counter() - started
    scores = result.scores(log=True)
    relative = scores["wis"][0].mean() / scores["wis"][1].mean()
    print(
        f"backtest: {args.origins} forecast dates x {args.districts} districts x horizons 7 and "
        f"14, {args.runs} runs: {seconds:.1f} s (target under {TARGET_SECONDS:.0f} s: "
        f"{'met' if seconds < TARGET_SECONDS else 'NOT met'}); relative WIS (log) on the "
        f"synthetic waves {relative:.2f}"
    )
    figures = {
        "origins": float(args.origins),
        "districts": float(args.districts),
        "seconds": seconds,
    }
    if args.reference:
        for name in ("shanghai-2022", "shanghai-2022-districts"):
            started = time.perf_counter()
            table = backtests.backtest_reference(
                series=name,  # type: ignore[arg-type]
                first_day=date(2022, 3, 20),
                last_day=date(2022, 5, 31),
                seed=args.seed,
                runs=args.runs,
            )
            console.print(backtest_table(table))
            print(f"({time.perf_counter() - started:.1f} s)")
    return figures


if __name__ == "__main__":
    main()
