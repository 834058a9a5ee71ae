"""District forecasts and policy scenarios: a daily stochastic metapopulation SEIR with screening,
isolation delay, travel cuts and the fast-lock / fast-unlock lifting rule, calibrated to the last
days of reported detections per district.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.mobility import apply_travel_cut

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_Draw = Callable[[FloatArray, FloatArray | float], FloatArray]

QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
_RUNS_PER_BLOCK = 250


@dataclass(frozen=True)
class DiseaseParameters:
    """Natural history of the infection, in days.

    Defaults describe Omicron BA.5 (the reference outbreak, November 2022): mean incubation about
    3.4 days [1]_, so a latent period of about 3 days, and about 5 days of infectiousness [2]_.
    ``symptomatic_detection_per_day`` is the daily chance that an infectious person not yet found
    is found through symptoms (fever clinics), an assumption to be set from local data.

    References
    ----------
    .. [1] Wu, Y. et al. (2022). Incubation period of COVID-19 caused by unique SARS-CoV-2 strains:
       a systematic review and meta-analysis. JAMA Network Open 5(8), e2228008.
    .. [2] Hakki, S. et al. (2022). Onset and window of SARS-CoV-2 infectiousness and temporal
       correlation with symptom onset: a prospective, longitudinal, community cohort study.
       Lancet Respiratory Medicine 10(11), 1061-1073.
    """

    latent_period_days: float = 3.0
    infectious_period_days: float = 5.0
    symptomatic_detection_per_day: float = 0.05

    def __post_init__(self) -> None:
        for name in ("latent_period_days", "infectious_period_days"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 1.0:
                raise ValueError(f"{name}: must be at least 1 day, got {value}")
        _check_probability("symptomatic_detection_per_day", self.symptomatic_detection_per_day)

    @property
    def onset_probability(self) -> float:
        """Daily probability that a latent (exposed) person becomes infectious."""
        return 1.0 / self.latent_period_days

    @property
    def recovery_probability(self) -> float:
        """Daily probability that an infectious person stops being infectious."""
        return 1.0 / self.infectious_period_days


@dataclass(frozen=True)
class Scenario:
    """The policy knobs of one forecast.

    Attributes
    ----------
    name : str
        Label shown next to the forecast.
    screening_interval_days : float or None
        Days between two rounds of mass screening: 1 every day, 2 every other day (隔天一檢);
        None for no mass screening.
    screening_coverage : float
        Fraction of residents swabbed in a round.
    test_sensitivity : float
        Probability that a pooled PCR test finds an infectious person [1]_.
    isolation_delay_days : int
        Days from detection to isolation; found people still infect others meanwhile [2]_.
    travel_cut : tuple of float or None
        Per-district cut of travel in [0, 1] (see ``mobility.apply_travel_cut``).
    restriction_contact_reduction : float
        Fraction of contacts removed in a district under restrictions.
    lift_after_clean_days : int
        Restrictions last while the district had a detection within the last this-many days,
        and are lifted after that many clean days (快封快解; policy default 5).

    References
    ----------
    .. [1] Mutesa, L. et al. (2021). A pooled testing strategy for identifying SARS-CoV-2 at low
       prevalence. Nature 589, 276-280.
    .. [2] Larremore, D. B. et al. (2021). Test sensitivity is secondary to frequency and
       turnaround time for COVID-19 screening. Science Advances 7(1), eabd5393.
    """

    name: str = "baseline"
    screening_interval_days: float | None = 2.0
    screening_coverage: float = 0.9
    test_sensitivity: float = 0.9
    isolation_delay_days: int = 1
    travel_cut: tuple[float, ...] | None = None
    restriction_contact_reduction: float = 0.0
    lift_after_clean_days: int = 5

    def __post_init__(self) -> None:
        interval = self.screening_interval_days
        if interval is not None and (not math.isfinite(interval) or interval < 1.0):
            raise ValueError(f"screening_interval_days: must be None or >= 1, got {interval}")
        _check_probability("screening_coverage", self.screening_coverage)
        _check_probability("test_sensitivity", self.test_sensitivity)
        _check_probability("restriction_contact_reduction", self.restriction_contact_reduction)
        _check_at_least("isolation_delay_days", self.isolation_delay_days, 0)
        _check_at_least("lift_after_clean_days", self.lift_after_clean_days, 1)
        if self.travel_cut is not None:
            cut = tuple(float(value) for value in self.travel_cut)
            if any(not 0.0 <= value <= 1.0 for value in cut):
                raise ValueError("travel_cut: every entry must lie in [0, 1]")
            object.__setattr__(self, "travel_cut", cut)

    def detection_probability(self, disease: DiseaseParameters) -> float:
        """Daily probability that an infectious person not yet found is found.

        Screening every ``k`` days finds a person on a given day with probability
        ``coverage * sensitivity / k``; symptoms find them independently.
        """
        screening = 0.0
        if self.screening_interval_days is not None:
            screening = (
                self.screening_coverage * self.test_sensitivity / self.screening_interval_days
            )
        return 1.0 - (1.0 - screening) * (1.0 - disease.symptomatic_detection_per_day)


@dataclass(frozen=True)
class OutbreakModel:
    """The outbreak now, per district: what a forecast starts from.

    Attributes
    ----------
    population : ndarray, shape (D,)
    contact_share : ndarray, shape (D, D)
        Row-stochastic share of residents' contact time spent in each district.
    transmission_rate : ndarray, shape (D,)
        Daily transmission rate β of residents of each district, without restrictions.
    susceptible, exposed, infectious : ndarray, shape (D,)
        People susceptible, latent, and infectious but not yet found.
    awaiting_isolation : ndarray, shape (D,) or (K, D)
        Found but not yet isolated (still infectious); row ``k`` holds those found ``k + 1``
        days ago (a single row: found yesterday). Rows at or past a scenario's isolation delay
        are isolated when its forecast starts.
    clean_days : ndarray of int, shape (D,)
        Consecutive days up to today without a detection (drives the lifting rule).
    disease : DiseaseParameters
    """

    population: FloatArray
    contact_share: FloatArray
    transmission_rate: FloatArray
    susceptible: FloatArray
    exposed: FloatArray
    infectious: FloatArray
    awaiting_isolation: FloatArray
    clean_days: IntArray
    disease: DiseaseParameters = field(default_factory=DiseaseParameters)

    def __post_init__(self) -> None:
        population = np.asarray(self.population, dtype=np.float64)
        if population.ndim != 1 or population.size == 0 or np.any(population <= 0):
            raise ValueError("population: expected a 1-D array of positive numbers")
        n = population.size
        object.__setattr__(self, "population", population)
        share = np.asarray(self.contact_share, dtype=np.float64)
        if share.shape != (n, n):
            raise ValueError(f"contact_share: expected shape ({n}, {n}), got {share.shape}")
        if np.any(share < 0) or not np.allclose(share.sum(axis=1), 1.0, atol=1e-9):
            raise ValueError("contact_share: must be non-negative with rows summing to 1")
        object.__setattr__(self, "contact_share", share)
        for name in ("transmission_rate", "susceptible", "exposed", "infectious"):
            values = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (n,))
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ValueError(f"{name}: expected {n} finite non-negative numbers")
            object.__setattr__(self, name, values.copy())
        waiting = np.asarray(self.awaiting_isolation, dtype=np.float64)
        waiting = waiting.reshape(1, -1) if waiting.ndim == 1 else waiting
        if waiting.ndim != 2 or waiting.shape[1] != n:
            raise ValueError(f"awaiting_isolation: expected shape ({n},) or (K, {n})")
        if not np.all(np.isfinite(waiting)) or np.any(waiting < 0):
            raise ValueError("awaiting_isolation: expected finite non-negative numbers")
        object.__setattr__(self, "awaiting_isolation", waiting.copy())
        occupied = self.susceptible + self.exposed + self.infectious + waiting.sum(axis=0)
        if np.any(occupied > population * (1 + 1e-9)):
            raise ValueError("susceptible: compartments exceed the population of a district")
        clean = np.broadcast_to(np.asarray(self.clean_days), (n,)).astype(np.int64)
        if np.any(clean < 0):
            raise ValueError("clean_days: must be non-negative")
        object.__setattr__(self, "clean_days", clean)

    @property
    def districts(self) -> int:
        return int(self.population.size)


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


@dataclass(frozen=True)
class Calibration:
    """A calibrated outbreak and the figures it was calibrated from.

    Attributes
    ----------
    model : OutbreakModel
    growth_rate : ndarray, shape (D,)
        Daily exponential growth rate of detections fitted per district.
    reproduction_number : ndarray, shape (D,)
        Effective reproduction number implied under the calibration scenario.
    pooled : ndarray of bool, shape (D,)
        Districts with too few detections whose growth rate is the city's.
    """

    model: OutbreakModel
    growth_rate: FloatArray
    reproduction_number: FloatArray
    pooled: npt.NDArray[np.bool_]


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
    _check_at_least("horizon_days", horizon_days, 1)
    _check_at_least("runs", runs, 1)
    _check_at_least("workers", workers, 1)
    if noise and rng is None:
        raise ValueError("rng: a numpy Generator is required when noise is on")
    if rng is None or not noise:
        infections, detections = _simulate(
            model, scenario, horizon_days=horizon_days, runs=1, rng=None
        )
    else:
        infections, detections = _simulate_blocks(
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


def _mean_draw(count: FloatArray, probability: FloatArray | float) -> FloatArray:
    result: FloatArray = count * probability
    return result


def _binomial_draw(rng: np.random.Generator) -> _Draw:
    def draw(count: FloatArray, probability: FloatArray | float) -> FloatArray:
        return rng.binomial(count.astype(np.int64), probability).astype(np.float64)

    return draw


def _simulate_blocks(
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
        return _simulate(
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


def _simulate(
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


def calibrate(
    *,
    detections: npt.ArrayLike,
    population: npt.ArrayLike,
    contact_share: npt.ArrayLike,
    scenario: Scenario | None = None,
    disease: DiseaseParameters | None = None,
    immune_fraction: float | npt.ArrayLike = 0.0,
    min_total_detections: int = 10,
    max_growth_rate: float = 0.5,
) -> Calibration:
    """Calibrate the outbreak model to the last days of detections per district.

    1. Per district, fit ``log E[y_t] = a + r t`` to the daily detections ``y`` by Poisson
       regression (Newton's method). Districts with fewer than ``min_total_detections`` in the
       window take the growth rate fitted to the city total and keep only their own level.
    2. Turn each growth rate into a transmission rate through the Euler-Lotka relation of the
       linearised model [1]_: with ``T`` the daily transition matrix of the latent, infectious and
       found-but-not-isolated states under the calibration scenario, ``b`` the entry of a new
       infection and ``c`` the infectious states, growth by ``z = e^r`` a day requires
       ``β c^T (zI - T)^{-1} b = 1``. The reproduction number is ``β c^T (I - T)^{-1} b`` [2]_.
       β is divided by the susceptible fraction and, where the district is under restrictions at
       the end of the window, by the contact left by ``restriction_contact_reduction``.
    3. The state at the start of the forecast is the stable (growing) composition
       ``(zI - T)^{-1} b``, scaled so that the expected detections of the first forecast day
       continue the fitted trend. Infections already past are estimated from the detections in
       the window divided by the fraction of infections the scenario finds.

    Districts are calibrated separately (as if closed); movement between districts mixes their
    growth in the forecast, which matters most when neighbouring districts grow very differently.

    Parameters
    ----------
    detections : array_like, shape (K, D)
        Daily detections (reported cases) for the last ``K >= 3`` days, oldest first.
    population : array_like, shape (D,)
    contact_share : array_like, shape (D, D)
        Row-stochastic contact shares (see ``mobility.gravity_mobility``).
    scenario : Scenario, optional
        The policy in force during the window (screening, isolation delay, restrictions).
    disease : DiseaseParameters, optional
    immune_fraction : float or array_like, shape (D,)
        Fraction of residents not susceptible before the window.
    min_total_detections : int
        Fewer detections than this in the window and a district uses the city's growth rate.
    max_growth_rate : float
        Fitted daily growth rates are clipped to ``±max_growth_rate`` so that a one-day jump in
        a small district does not imply an absurd reproduction number (0.5 doubles in 1.4 days;
        the reference outbreak doubled in about two days, 0.35 a day).

    Returns
    -------
    Calibration

    References
    ----------
    .. [1] Wallinga, J., & Lipsitch, M. (2007). How generation intervals shape the relationship
       between growth rates and reproductive numbers. Proc. R. Soc. B 274, 599-604.
    .. [2] Diekmann, O., Heesterbeek, J. A. P., & Roberts, M. G. (2010). The construction of
       next-generation matrices for compartmental epidemic models. J. R. Soc. Interface 7,
       873-885.
    """
    scenario = Scenario() if scenario is None else scenario
    disease = DiseaseParameters() if disease is None else disease
    counts = np.asarray(detections, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] < 3:
        raise ValueError(f"detections: expected shape (K >= 3, D), got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("detections: counts must be finite and non-negative")
    pop = np.asarray(population, dtype=np.float64)
    d = counts.shape[1]
    if pop.shape != (d,):
        raise ValueError(f"population: expected shape ({d},), got {pop.shape}")
    immune = np.broadcast_to(np.asarray(immune_fraction, dtype=np.float64), (d,))
    if np.any((immune < 0) | (immune >= 1)):
        raise ValueError("immune_fraction: must lie in [0, 1)")
    detection = scenario.detection_probability(disease)
    if detection <= 0:
        raise ValueError("scenario: detections cannot calibrate a scenario that finds nobody")

    if not math.isfinite(max_growth_rate) or max_growth_rate <= 0:
        raise ValueError(f"max_growth_rate: must be positive, got {max_growth_rate}")
    growth, level, pooled = _fit_growth(
        counts, min_total=min_total_detections, max_rate=max_growth_rate
    )
    transitions, entry, infectious_states = _linear_transitions(disease, scenario, detection)
    z = np.exp(growth)
    n_states = entry.size
    # Stable composition per district: (zI - T)^{-1} b, one small solve per district at once.
    systems = z[:, None, None] * np.eye(n_states) - transitions
    composition = np.asarray(
        np.linalg.solve(systems, np.broadcast_to(entry, (d, n_states))[..., None])[..., 0],
        dtype=np.float64,
    )
    decay_floor = float(np.max(np.abs(np.linalg.eigvals(transitions))))
    growing = z > decay_floor + 1e-12
    kernel = composition @ infectious_states
    per_detection = (1.0 - disease.recovery_probability) * detection
    found_share = per_detection * np.linalg.solve(np.eye(n_states) - transitions, entry)[1]
    generation = infectious_states @ np.linalg.solve(np.eye(n_states) - transitions, entry)

    # Scale so that the first forecast day's expected detections continue the fitted trend.
    infectious_now = level * z / per_detection
    scale = np.where(
        growing, infectious_now / np.where(composition[:, 1] > 0, composition[:, 1], 1), 0
    )
    state = composition * scale[:, None]
    if not np.all(growing):
        # Decaying faster than the infection clears on its own: no transmission, the detections
        # come from people already infectious.
        state[~growing] = 0.0
        state[~growing, 1] = infectious_now[~growing]
    past_infections = counts.sum(axis=0) / found_share
    occupied = state.sum(axis=1)
    susceptible = np.clip(pop * (1 - immune) - past_infections - occupied, 0.0, None)
    trailing_clean = _trailing_zeros(counts)
    restricted = trailing_clean < scenario.lift_after_clean_days
    contact = np.where(restricted, 1.0 - scenario.restriction_contact_reduction, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(
            growing & (susceptible > 0) & (contact > 0),
            1.0 / (np.where(kernel > 0, kernel, np.inf) * contact * susceptible / pop),
            0.0,
        )
    model = OutbreakModel(
        population=pop,
        contact_share=np.asarray(contact_share, dtype=np.float64),
        transmission_rate=beta,
        susceptible=susceptible,
        exposed=state[:, 0],
        infectious=state[:, 1],
        awaiting_isolation=state[:, 2:].T if scenario.isolation_delay_days else np.zeros(d),
        clean_days=trailing_clean,
        disease=disease,
    )
    return Calibration(
        model=model,
        growth_rate=growth,
        reproduction_number=beta * contact * susceptible / pop * generation,
        pooled=pooled,
    )


def _linear_transitions(
    disease: DiseaseParameters, scenario: Scenario, detection: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Daily transitions of one infection through (E, I, W_1..W_delay), without new infections."""
    delay = scenario.isolation_delay_days
    n = 2 + delay
    onset, recovery = disease.onset_probability, disease.recovery_probability
    t = np.zeros((n, n))
    t[0, 0] = 1.0 - onset
    t[1, 0] = onset
    t[1, 1] = (1.0 - recovery) * (1.0 - detection)
    if delay > 0:
        t[2, 1] = (1.0 - recovery) * detection
        for stage in range(3, n):
            t[stage, stage - 1] = 1.0 - recovery
    entry = np.zeros(n)
    entry[0] = 1.0
    infectious = np.zeros(n)
    infectious[1:] = 1.0
    return t, entry, infectious


def _fit_growth(
    counts: FloatArray, *, min_total: int, max_rate: float
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Growth rate and fitted level on the last day, per district, by Poisson regression.

    References
    ----------
    .. [1] McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman &
       Hall, chapter 6 (log-linear models for counts).
    """
    days = counts.shape[0]
    t = np.arange(days, dtype=np.float64) - (days - 1)  # the last day is t = 0
    city_slope = _poisson_slope(counts.sum(axis=1, keepdims=True), t)[0]
    slope = _poisson_slope(counts, t)
    pooled = counts.sum(axis=0) < min_total
    slope = np.clip(np.where(pooled, city_slope, slope), -max_rate, max_rate)
    # With the slope fixed, the Poisson intercept matches the total count exactly.
    level = counts.sum(axis=0) / np.exp(np.outer(t, slope)).sum(axis=0)
    return slope, level, pooled


def _poisson_slope(counts: FloatArray, t: FloatArray, iterations: int = 50) -> FloatArray:
    """Slope of a log-linear Poisson regression of each column of ``counts`` on ``t``."""
    log_y = np.log(counts + 0.5)
    centred = t - t.mean()
    slope = (centred @ log_y) / (centred @ centred)
    intercept = log_y.mean(axis=0) - slope * t.mean()
    for _ in range(iterations):
        mu = np.exp(np.clip(intercept[None, :] + np.outer(t, slope), -50, 50))
        residual = counts - mu
        g0, g1 = residual.sum(axis=0), t @ residual
        h00, h01, h11 = mu.sum(axis=0), t @ mu, (t**2) @ mu
        det = h00 * h11 - h01**2
        ok = det > 1e-12
        safe = np.where(ok, det, 1.0)
        intercept = intercept + np.where(ok, (h11 * g0 - h01 * g1) / safe, 0.0)
        slope = slope + np.where(ok, (h00 * g1 - h01 * g0) / safe, 0.0)
        # A district with no detections has no finite maximum; keep the slope where it is sane.
        slope = np.clip(slope, -1.0, 1.0)
    result: FloatArray = slope
    return result


def _trailing_zeros(counts: FloatArray) -> IntArray:
    nonzero = counts > 0
    days = counts.shape[0]
    last = np.where(nonzero.any(axis=0), days - 1 - np.argmax(nonzero[::-1], axis=0), -1)
    result: IntArray = (days - 1 - last).astype(np.int64)
    return result


def _check_probability(name: str, value: float) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {value}")


def _check_at_least(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")
