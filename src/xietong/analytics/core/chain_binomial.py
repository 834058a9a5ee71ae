"""The chain-binomial simulation of the district SEIR: one day at a time, every transition a
binomial draw (or its mean for the deterministic mean field), in fixed blocks of runs so that a
seeded ensemble is the same whatever the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.mobility import apply_travel_cut
from xietong.analytics.core.seir import OutbreakModel, Scenario

_Draw = Callable[[FloatArray, FloatArray | float], FloatArray]
_RUNS_PER_BLOCK = 250


def _mean_draw(count: FloatArray, probability: FloatArray | float) -> FloatArray:
    result: FloatArray = count * probability
    return result


def _binomial_draw(rng: np.random.Generator) -> _Draw:
    def draw(count: FloatArray, probability: FloatArray | float) -> FloatArray:
        return rng.binomial(count.astype(np.int64), probability).astype(np.float64)

    return draw


def simulate_blocks(
    model: OutbreakModel,
    scenario: Scenario,
    *,
    horizon_days: int,
    runs: int,
    rng: np.random.Generator,
    workers: int,
) -> tuple[FloatArray, FloatArray]:
    # Fixed blocks (not one per worker) keep a seeded forecast identical on any machine; NumPy
    # releases the GIL inside its binomial sampler, so threads share the work.
    sizes = [min(_RUNS_PER_BLOCK, runs - first) for first in range(0, runs, _RUNS_PER_BLOCK)]
    seeds = rng.integers(2**63 - 1, size=len(sizes))

    def block(k: int) -> tuple[FloatArray, FloatArray]:
        return simulate(
            model,
            scenario,
            horizon_days=horizon_days,
            runs=sizes[k],
            rng=np.random.default_rng(int(seeds[k])),
        )

    if workers > 1 and len(sizes) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(block, range(len(sizes))))
    else:
        parts = [block(k) for k in range(len(sizes))]
    return (
        np.concatenate([part[0] for part in parts]),
        np.concatenate([part[1] for part in parts]),
    )


def simulate(
    model: OutbreakModel,
    scenario: Scenario,
    *,
    horizon_days: int,
    runs: int,
    rng: np.random.Generator | None,
) -> tuple[FloatArray, FloatArray]:
    d = model.districts
    share = model.contact_share
    if scenario.travel_cut is not None:
        if len(scenario.travel_cut) != d:
            raise ValueError(f"travel_cut: expected {d} districts, got {len(scenario.travel_cut)}")
        share = apply_travel_cut(share, travel_cut=np.asarray(scenario.travel_cut))
    present = model.population @ share
    # Districts nobody spends time in have no contacts; avoid dividing by zero there.
    present = np.where(present > 0, present, 1.0)
    beta = model.transmission_rate
    onset = model.disease.onset_probability
    recovery = model.disease.recovery_probability
    detection = scenario.detection_probability(model.disease)
    delay = scenario.isolation_delay_days
    reduction = scenario.restriction_contact_reduction

    def start(values: FloatArray) -> FloatArray:
        state = np.broadcast_to(values, (runs, d)).astype(np.float64)
        if rng is None:
            return state
        # Stochastic rounding keeps the mean of the calibrated (fractional) state.
        whole = np.floor(state)
        return whole + (rng.random((runs, d)) < state - whole)

    draw: _Draw = _mean_draw if rng is None else _binomial_draw(rng)
    s = np.broadcast_to(model.susceptible, (runs, d)).astype(np.float64)
    if rng is not None:
        s = np.floor(s)
    e = start(model.exposed)
    i = start(model.infectious)
    waiting = np.zeros((max(delay, 1), runs, d))
    for stage, found_earlier in enumerate(model.awaiting_isolation[:delay]):
        waiting[stage] = start(found_earlier)
    clean = np.broadcast_to(model.clean_days, (runs, d)).copy()
    infections = np.empty((runs, horizon_days, d))
    detections = np.empty((runs, horizon_days, d))

    for day in range(horizon_days):
        infectious_here = i + waiting.sum(axis=0) if delay > 0 else i
        prevalence_at = (infectious_here @ share) / present
        if reduction > 0:
            prevalence_at = prevalence_at * np.where(
                clean < scenario.lift_after_clean_days, 1.0 - reduction, 1.0
            )
        force = beta * (prevalence_at @ share.T)
        new_infections = draw(s, -np.expm1(-force))
        onsets = draw(e, onset)
        recovered = draw(i, recovery)
        found = draw(i - recovered, detection)
        if delay > 0:
            # Found people move one day closer to isolation; the last stage is isolated today,
            # recovered or not, so only the earlier stages need a recovery draw.
            if delay > 1:
                waiting[1:] = waiting[:-1] - draw(waiting[:-1], recovery)
            waiting[0] = found
        s = s - new_infections
        e = e + new_infections - onsets
        i = i + onsets - recovered - found
        # Half a detection is the threshold so that mean-field (fractional) days can be clean.
        clean = np.where(found >= 0.5, 0, clean + 1)
        infections[:, day] = new_infections
        detections[:, day] = found
    return infections, detections
