"""Calibration of the district SEIR to the last days of reported detections: growth per district
by Poisson regression, the transmission rate through the Euler-Lotka relation of the linearised
model, and the stable composition of the state the forecast starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import BoolArray, FloatArray, IntArray
from xietong.analytics.core.seir import DiseaseParameters, OutbreakModel, Scenario
from xietong.analytics.core.validation import as_daily_counts, check_positive


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
        Districts with fewer than ``min_total_detections`` detections: their growth rate is
        mostly the city's (shrunk towards it, see `calibrate`).
    """

    model: OutbreakModel
    growth_rate: FloatArray
    reproduction_number: FloatArray
    pooled: BoolArray


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
       regression (Newton's method), shrunk towards the rate fitted to the city total by the
       weight ``n / (n + min_total_detections)`` of the district's ``n`` detections in the
       window (partial pooling [3]_): a district with few detections is mostly the city's, one
       with none is the city's exactly, and none copies another's. Each keeps its own level.
       Districts with fewer than ``min_total_detections`` are marked ``pooled``.
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
        Detections at which a district's own growth rate and the city's weigh the same; fewer,
        and the district is marked ``pooled``. 0 turns pooling off.
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
    .. [3] Gelman, A., & Hill, J. (2007). Data Analysis Using Regression and Multilevel/
       Hierarchical Models, section 12.2 (partial pooling). Cambridge University Press.
    """
    scenario = Scenario() if scenario is None else scenario
    disease = DiseaseParameters() if disease is None else disease
    counts = as_daily_counts(detections, name="detections", min_days=3)
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

    check_positive("max_growth_rate", max_growth_rate)
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
    # A district its outbreak has exhausted: the detections' level can put more people in play
    # than it holds. They are scaled to its residents (none left susceptible), not refused.
    in_play = state.sum(axis=1)
    over = in_play > pop
    state[over] *= (pop[over] / in_play[over])[:, None]
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
) -> tuple[FloatArray, FloatArray, BoolArray]:
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
    total = counts.sum(axis=0)
    pooled = total < min_total
    weight = total / (total + min_total) if min_total > 0 else np.ones_like(total)
    slope = np.clip(weight * slope + (1.0 - weight) * city_slope, -max_rate, max_rate)
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
