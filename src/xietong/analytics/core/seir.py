"""The district outbreak model: natural history of the infection, the policy knobs of a scenario,
and the state per district (a metapopulation SEIR with screening and isolation delay) that the
chain-binomial simulation advances and the calibration fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from xietong.analytics.core.arrays import FloatArray, IntArray
from xietong.analytics.core.validation import check_at_least, check_probability


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
        check_probability("symptomatic_detection_per_day", self.symptomatic_detection_per_day)

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
        check_probability("screening_coverage", self.screening_coverage)
        check_probability("test_sensitivity", self.test_sensitivity)
        check_probability("restriction_contact_reduction", self.restriction_contact_reduction)
        check_at_least("isolation_delay_days", self.isolation_delay_days, 0)
        check_at_least("lift_after_clean_days", self.lift_after_clean_days, 1)
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
