"""Backtests of the forecast: the wall time of origins x districts, and the scores on Shanghai's
2022 series (city-wide and per district, forecasts from every day of 20 March - 31 May) against
the forecast hub's baseline and persistence, all in one run.

The timed backtest runs on a seeded synthetic series (one wave per district with Poisson noise)
of ``--origins`` forecast dates and ``--districts`` districts; the figure to meet is 100 x 16 in
under a minute, the model's ensemble, its recalibration and both baselines included. The tables
are the ones in docs/analytics.md.

The twin's tables: the synthetic city of ``--twin-population`` persons is built in a fresh
SQLite file, its outbreak simulated for ``--twin-days`` days from 1 November 2022 (the replay's
infections are its first 30 days), and the forecast backtested on its true new infections, from
every day with a week of history and 14 days to come, city-wide and in the districts with at
least ``--twin-min-infections`` infections.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta

import numpy as np
from rich.console import Console

from xietong.analytics import backtests
from xietong.analytics.core.backtest import run_backtest
from xietong.analytics.core.growth_forecast import GrowthModel
from xietong.analytics.reference_series import ReferenceSeries
from xietong.analytics.schemas import BacktestRead
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


def twin_truth(*, population: int, seed: int, days: int, intensity: float) -> ReferenceSeries:
    """Build the twin's city in a fresh SQLite file and simulate its outbreak's truth."""
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.core.clock import FixedClock
    from xietong.people.protection import PersonalDataProtector
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work
    from xietong.twin.city import build_city
    from xietong.twin.replay import REPLAY_STARTS, START_DAY
    from xietong.twin.truth import true_infections

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/twin.sqlite"
        engine = build_engine(url)
        try:
            prepare_database(engine)
            factory = session_factory(engine)
            protector = PersonalDataProtector.from_settings(Settings(database_url=url))
            with unit_of_work(factory, clock=FixedClock(REPLAY_STARTS)) as session:
                built = build_city(session, protector=protector, population=population, seed=seed)
            with unit_of_work(factory, clock=FixedClock(REPLAY_STARTS)) as session:
                return true_infections(
                    session, run_id=built.run_id, start=START_DAY, days=days, intensity=intensity
                )
        finally:
            engine.dispose()


def twin_backtests(
    truth: ReferenceSeries, *, min_infections: int, seed: int, runs: int
) -> list[BacktestRead]:
    """The backtests on the twin's truth: city-wide, and in its districts with enough cases."""
    first_day = truth.days[0] + timedelta(days=GrowthModel().window_days - 1)
    last_day = truth.days[-1] - timedelta(days=max(backtests.HORIZONS))
    city = ReferenceSeries(
        name=f"{truth.name}, city",
        days=truth.days,
        units=("city",),
        counts=truth.counts.sum(axis=1, keepdims=True),
    )
    enough = truth.counts.sum(axis=0) >= min_infections
    districts = ReferenceSeries(
        name=f"{truth.name}, {int(enough.sum())} districts of {min_infections}+ infections",
        days=truth.days,
        units=tuple(u for u, keep in zip(truth.units, enough, strict=True) if keep),
        counts=truth.counts[:, enough],
    )
    return [
        backtests.backtest_series(
            series, first_day=first_day, last_day=last_day, seed=seed, runs=runs
        )
        for series in (city, districts)
        if series.units
    ]


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
    parser.add_argument("--twin", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--twin-population", type=int, default=1_000_000)
    parser.add_argument("--twin-seed", type=int, default=2022)
    parser.add_argument("--twin-days", type=int, default=60)
    parser.add_argument("--twin-intensity", type=float, default=1.0)
    parser.add_argument("--twin-min-infections", type=int, default=300)
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
    if args.twin:
        started = time.perf_counter()
        truth = twin_truth(
            population=args.twin_population,
            seed=args.twin_seed,
            days=args.twin_days,
            intensity=args.twin_intensity,
        )
        print(
            f"twin: {args.twin_population:,} persons, {int(truth.counts.sum()):,} infections in "
            f"{args.twin_days} days, built and simulated in {time.perf_counter() - started:.1f} s"
        )
        figures["twin_infections"] = float(truth.counts.sum())
        for table in twin_backtests(
            truth, min_infections=args.twin_min_infections, seed=args.seed, runs=args.runs
        ):
            console.print(backtest_table(table))
    return figures


if __name__ == "__main__":
    main()
