"""Rt of many districts: xietong's vectorised estimator against epyestim's, on the same counts.

Both implement Cori et al. (2013). The figures: the best time of each over several repeats, the
speed-up, and the largest difference in posterior mean over the windows where the two tools'
conventions agree.

    .venv/bin/python benchmarks/rt_vs_epyestim.py --districts 40 --days 120 --repeats 7
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from epyestim.estimate_r import estimate_r, gamma_quantiles

from xietong.analytics.core.distributions import (
    normalise_serial_interval,
    omicron_serial_interval,
)
from xietong.analytics.core.rt import (
    DEFAULT_PRIOR_MEAN,
    DEFAULT_PRIOR_SD,
    DEFAULT_QUANTILE_LEVELS,
    estimate_rt,
)

WINDOW_DAYS = 7
SEED = 20221113

CONVENTIONS = """\
Conventions (epyestim 0.1 `estimate_r` vs EpiEstim, which xietong follows):
  * infectiousness: epyestim convolves with w_0 included (Λ_t = Σ_{s>=0} w_s I_{t-s}); with
    w_0 = 0, as here, that is EpiEstim's Λ_t = Σ_{s>=1} w_s I_{t-s}.
  * windows: epyestim's rolling windows end on days 7..T, the first covering days 1-7;
    EpiEstim's start on day 2 (end on days 8..T) and count day 1's cases as imported.
    epyestim's first window has no EpiEstim counterpart and is left out of the comparison;
    from day 2 on, day 1 enters only Λ in both tools.
  * EpiEstim drops windows ending on or before the mean serial interval; none do here.
  * epyestim asserts the serial interval sums to 1 within 0.001: both tools get the Omicron
    default (mean 3.0, sd 1.5 days) renormalised to sum 1.
  * prior: shape 1, scale 5 (mean 5, sd 5) in both; epyestim's b_prior is a scale."""


def synthetic_counts(
    *, districts: int, days: int, serial_interval: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Daily cases of districts that grow, are brought under control, and decline.

    A renewal process (Poisson offspring of mean R_t Λ_t) per district, with R_t falling from
    1.2-1.6 to 0.7-0.95 around a district's own control day, depleted by the share of the
    district's population (100,000-1,500,000) already infected.
    """
    population = rng.uniform(1e5, 1.5e6, size=districts)
    r_before = rng.uniform(1.2, 1.6, size=districts)
    r_after = rng.uniform(0.7, 0.95, size=districts)
    control_day = rng.uniform(0.2, 0.4, size=districts) * days
    day = np.arange(days)
    switch = 1.0 / (1.0 + np.exp(-(day[np.newaxis, :] - control_day[:, np.newaxis]) / 2.0))
    reproduction = r_before[:, np.newaxis] * (1 - switch) + r_after[:, np.newaxis] * switch

    cases = np.zeros((districts, days))
    cases[:, 0] = rng.integers(5, 31, size=districts)
    weights = serial_interval[1:]
    for t in range(1, days):
        past = cases[:, max(0, t - weights.size) : t][:, ::-1]
        infectiousness = past @ weights[: past.shape[1]]
        susceptible = np.clip(1.0 - cases[:, :t].sum(axis=1) / population, 0.0, 1.0)
        cases[:, t] = rng.poisson(reproduction[:, t - 1] * infectiousness * susceptible)
    return cases


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds (the least disturbed by the machine)."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=40, help="number of districts")
    parser.add_argument("--days", type=int, default=120, help="days of counts per district")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs; the best is kept")
    args = parser.parse_args(argv)
    if args.days <= WINDOW_DAYS + 1:
        parser.error(f"--days must exceed {WINDOW_DAYS + 1}")

    rng = np.random.default_rng(SEED)
    weights = normalise_serial_interval(omicron_serial_interval())
    counts = synthetic_counts(
        districts=args.districts, days=args.days, serial_interval=weights, rng=rng
    )
    dates = pd.date_range("2022-11-01", periods=args.days, freq="D")
    series = [pd.Series(row, index=dates) for row in counts]
    a_prior = (DEFAULT_PRIOR_MEAN / DEFAULT_PRIOR_SD) ** 2
    b_prior = DEFAULT_PRIOR_SD**2 / DEFAULT_PRIOR_MEAN

    def ours_full() -> object:
        return estimate_rt(counts, serial_interval=weights, window_days=WINDOW_DAYS)

    def ours_posterior() -> object:
        return estimate_rt(
            counts, serial_interval=weights, window_days=WINDOW_DAYS, quantile_levels=()
        )

    def theirs_posterior() -> list[np.ndarray]:
        means = []
        for district in series:
            posterior = estimate_r(
                district, weights, a_prior=a_prior, b_prior=b_prior, window_size=WINDOW_DAYS
            )
            means.append((posterior["a_posterior"] * posterior["b_posterior"]).to_numpy())
        return means

    def theirs_full() -> list[list[np.ndarray]]:
        summaries = []
        for district in series:
            posterior = estimate_r(
                district, weights, a_prior=a_prior, b_prior=b_prior, window_size=WINDOW_DAYS
            )
            shape = posterior["a_posterior"].to_numpy()
            scale = posterior["b_posterior"].to_numpy()
            summary = [shape * scale, np.sqrt(shape) * scale]
            summary += [gamma_quantiles(q, shape, scale) for q in DEFAULT_QUANTILE_LEVELS]
            summaries.append(summary)
        return summaries

    ours = estimate_rt(counts, serial_interval=weights, window_days=WINDOW_DAYS)
    theirs = np.vstack(theirs_posterior())
    # epyestim's row i ends on day WINDOW_DAYS + i; ours starts at the window ending a day later.
    theirs_comparable = theirs[:, 1:]
    comparable = ~np.isnan(ours.mean)
    max_difference = float(np.max(np.abs(ours.mean[comparable] - theirs_comparable[comparable])))

    ours_seconds = best_time(ours_full, args.repeats)
    ours_posterior_seconds = best_time(ours_posterior, args.repeats)
    theirs_seconds = best_time(theirs_posterior, args.repeats)
    theirs_full_seconds = best_time(theirs_full, args.repeats)

    figures: dict[str, Any] = {
        "districts": args.districts,
        "days": args.days,
        "repeats": args.repeats,
        "windows_compared": int(comparable.sum()),
        "cases_total": int(counts.sum()),
        "ours_posterior_seconds": ours_posterior_seconds,
        "epyestim_posterior_seconds": theirs_seconds,
        "speedup_posterior": theirs_seconds / ours_posterior_seconds,
        "ours_seconds": ours_seconds,
        "epyestim_with_quantiles_seconds": theirs_full_seconds,
        "speedup_with_quantiles": theirs_full_seconds / ours_seconds,
        "max_abs_mean_difference": max_difference,
    }

    print(CONVENTIONS)
    print()
    print(
        f"{args.districts} districts x {args.days} days, {figures['cases_total']:,} cases, "
        f"{WINDOW_DAYS}-day windows, best of {args.repeats}"
    )
    print("posterior (shape, scale, mean; epyestim.estimate_r per district vs one array call):")
    print(f"  xietong   {ours_posterior_seconds * 1e3:9.3f} ms")
    print(f"  epyestim  {theirs_seconds * 1e3:9.3f} ms")
    print(f"  speed-up  {figures['speedup_posterior']:9.1f} x")
    levels = ", ".join(f"{level:g}" for level in DEFAULT_QUANTILE_LEVELS)
    print(f"with mean, sd and the quantiles at {levels}:")
    print(f"  xietong   {ours_seconds * 1e3:9.3f} ms")
    print(f"  epyestim  {theirs_full_seconds * 1e3:9.3f} ms  (estimate_r + gamma_quantiles)")
    print(f"  speed-up  {figures['speedup_with_quantiles']:9.1f} x")
    print(
        f"largest |difference| in posterior mean over {figures['windows_compared']} "
        f"comparable windows: {max_difference:.3g}"
    )
    return figures


if __name__ == "__main__":
    main()
