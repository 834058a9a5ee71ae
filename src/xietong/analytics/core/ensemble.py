"""District forecasts and policy scenarios: ensembles of the chain-binomial SEIR summarised in
bands, and scenarios run side by side on common random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.chain_binomial import simulate, simulate_blocks
from xietong.analytics.core.seir import OutbreakModel, Scenario
from xietong.analytics.core.validation import check_at_least

QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Bands:
    """Quantiles over the ensemble (5, 25, 50, 75 and 95 %), each of the same shape."""

    p05: FloatArray
    p25: FloatArray
    median: FloatArray
    p75: FloatArray
    p95: FloatArray

    @classmethod
    def of(cls, ensemble: FloatArray) -> Bands:
        """Summarise an ensemble whose first axis is the run."""
        q = np.quantile(ensemble, QUANTILE_LEVELS, axis=0)
        return cls(p05=q[0], p25=q[1], median=q[2], p75=q[3], p95=q[4])


@dataclass(frozen=True)
class Forecast:
    """Daily new infections and detections (reported cases) per district over the horizon.

    ``new_infections`` and ``new_detections`` have shape (runs, horizon_days, D); the bands
    summarise them per district, and the city bands summarise the city totals of each run.
    """

    scenario: Scenario
    new_infections: FloatArray
    new_detections: FloatArray
    infections: Bands
    detections: Bands
    city_infections: Bands
    city_detections: Bands

    @property
    def runs(self) -> int:
        return int(self.new_infections.shape[0])

    @property
    def horizon_days(self) -> int:
        return int(self.new_infections.shape[1])


@dataclass(frozen=True)
class ScenarioComparison:
    """Scenarios run side by side on common random numbers.

    ``total_infections`` and ``infections_averted`` are bands of shape (S,) over runs: city-wide
    infections over the horizon, and the paired difference from the first scenario (positive when
    a scenario averts infections).
    """

    forecasts: tuple[Forecast, ...]
    total_infections: Bands
    infections_averted: Bands


def forecast(
    model: OutbreakModel,
    *,
    scenario: Scenario | None = None,
    horizon_days: int = 28,
    runs: int = 200,
    rng: np.random.Generator | None = None,
    noise: bool = True,
    workers: int = 1,
) -> Forecast:
    """Forecast daily infections and detections per district under a scenario.

    Each day, in every district ``i`` and run: residents are infected with probability
    ``1 - exp(-λ_i)``, where contacts happen where people are [1]_ [2]_::

        λ_i = β_i Σ_j M_ij c_j (Σ_k M_kj (I_k + W_k)) / (Σ_k M_kj N_k)

    ``M`` is the contact share after the travel cut, ``W`` the found but not yet isolated, and
    ``c_j`` is ``1 - restriction_contact_reduction`` while district ``j`` is under restrictions (a
    detection within the last ``lift_after_clean_days`` days), else 1. Latent people become
    infectious with probability ``1 / latent_period``; infectious people stop being infectious
    with probability ``1 / infectious_period``, and those still infectious are found with the
    scenario's detection probability. Found people keep infecting for ``isolation_delay_days``
    days (or until they recover), then are isolated. Transitions are binomial draws (a chain
    binomial [3]_); with ``noise=False`` every draw is replaced by its mean, which gives the
    deterministic mean-field system and a single run.

    Parameters
    ----------
    model : OutbreakModel
    scenario : Scenario, optional
        Policy knobs; the default scenario when omitted.
    horizon_days : int
        Days to forecast (typically 14-30).
    runs : int
        Ensemble size when ``noise`` is on.
    rng : numpy.random.Generator
        Source of randomness; required when ``noise`` is on.
    noise : bool
        False for the deterministic mean-field forecast.
    workers : int
        Threads that share the ensemble. The runs are split into fixed blocks, each with its
        own generator seeded from ``rng``, so the result does not depend on ``workers``.

    Returns
    -------
    Forecast

    References
    ----------
    .. [1] Sattenspiel, L., & Dietz, K. (1995). A structured epidemic model incorporating
       geographic mobility among regions. Mathematical Biosciences 128, 71-91.
    .. [2] Balcan, D. et al. (2009). Multiscale mobility networks and the spatial spreading of
       infectious diseases. PNAS 106(51), 21484-21489.
    .. [3] Allen, L. J. S. (1994). Some discrete-time SI, SIR, and SIS epidemic models.
       Mathematical Biosciences 124, 83-105.
    """
    scenario = Scenario() if scenario is None else scenario
    check_at_least("horizon_days", horizon_days, 1)
    check_at_least("runs", runs, 1)
    check_at_least("workers", workers, 1)
    if noise and rng is None:
        raise ValueError("rng: a numpy Generator is required when noise is on")
    if rng is None or not noise:
        infections, detections = simulate(
            model, scenario, horizon_days=horizon_days, runs=1, rng=None
        )
    else:
        infections, detections = simulate_blocks(
            model, scenario, horizon_days=horizon_days, runs=runs, rng=rng, workers=workers
        )
    return Forecast(
        scenario=scenario,
        new_infections=infections,
        new_detections=detections,
        infections=Bands.of(infections),
        detections=Bands.of(detections),
        city_infections=Bands.of(infections.sum(axis=2)),
        city_detections=Bands.of(detections.sum(axis=2)),
    )


def run_scenarios(
    base: OutbreakModel,
    scenarios: tuple[Scenario, ...] | list[Scenario],
    *,
    horizon_days: int = 28,
    runs: int = 200,
    rng: np.random.Generator | None = None,
    noise: bool = True,
    workers: int = 1,
) -> ScenarioComparison:
    """Forecast several scenarios from the same outbreak on common random numbers.

    One seed is drawn from ``rng`` and every scenario runs from a generator seeded with it, so
    that runs are paired across scenarios and their differences are mostly due to policy rather
    than chance [1]_. The first scenario is the reference for ``infections_averted``.

    References
    ----------
    .. [1] Law, A. M. (2015). Simulation Modeling and Analysis, 5th ed., section 11.2 (common
       random numbers). McGraw-Hill.
    """
    if len(scenarios) == 0:
        raise ValueError("scenarios: at least one scenario is required")
    if noise and rng is None:
        raise ValueError("rng: a numpy Generator is required when noise is on")
    seed = int(rng.integers(2**63 - 1)) if (noise and rng is not None) else 0
    forecasts = tuple(
        forecast(
            base,
            scenario=scenario,
            horizon_days=horizon_days,
            runs=runs,
            rng=np.random.default_rng(seed) if noise else None,
            noise=noise,
            workers=workers,
        )
        for scenario in scenarios
    )
    totals = np.stack([f.new_infections.sum(axis=(1, 2)) for f in forecasts], axis=1)
    return ScenarioComparison(
        forecasts=forecasts,
        total_infections=Bands.of(totals),
        infections_averted=Bands.of(totals[:, :1] - totals),
    )
