"""Where each district's residents spend their contact time: a gravity model of daily movement.

Owns the row-stochastic contact-share matrix that couples districts in the forecast, and the
travel cut a policy puts on a district's outgoing and incoming movement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.arrays import FloatArray

__all__ = ["MobilityMatrix", "apply_travel_cut", "gravity_mobility"]


@dataclass(frozen=True)
class MobilityMatrix:
    """Contact shares between districts.

    Attributes
    ----------
    contact_share : ndarray, shape (D, D)
        Row-stochastic: ``contact_share[i, j]`` is the fraction of the contact time of residents of
        district ``i`` spent in district ``j``.
    relative_flows : ndarray, shape (D, D)
        The gravity flows ``P_i^α P_j^β / d_ij^γ`` between distinct districts (zero diagonal),
        before normalisation; proportional to daily trips from ``i`` to ``j``.
    stay_share : ndarray, shape (D,)
        Fraction of contact time residents spend in their own district, after any travel cut.
    """

    contact_share: FloatArray
    relative_flows: FloatArray
    stay_share: FloatArray


def gravity_mobility(
    *,
    population: npt.ArrayLike,
    distance_km: npt.ArrayLike,
    stay_share: float | npt.ArrayLike = 0.85,
    origin_exponent: float = 1.0,
    destination_exponent: float = 1.0,
    distance_exponent: float = 2.0,
    travel_cut: npt.ArrayLike | None = None,
) -> MobilityMatrix:
    """Build the contact-share matrix of a gravity model of movement between districts.

    Daily flows from ``i`` to ``j`` are taken proportional to
    ``P_i^origin_exponent * P_j^destination_exponent / d_ij^distance_exponent``. Each row of the
    flows is normalised into destination shares; residents spend ``stay_share`` of their contact
    time at home and the rest in other districts in proportion to those shares.

    Parameters
    ----------
    population : array_like, shape (D,)
        Residents per district, positive.
    distance_km : array_like, shape (D, D)
        Distances between districts in km; off-diagonal entries positive, diagonal ignored.
    stay_share : float or array_like, shape (D,)
        Fraction of contact time at the home district, in [0, 1].
    origin_exponent, destination_exponent : float
        Gravity exponents on the population of origin and destination (α, β), non-negative.
    distance_exponent : float
        Distance decay exponent (γ), non-negative.
    travel_cut : array_like, shape (D,), optional
        Per-district cut of travel in [0, 1]; see :func:`apply_travel_cut`.

    Returns
    -------
    MobilityMatrix

    References
    ----------
    .. [1] Zipf, G. K. (1946). The P1 P2/D hypothesis: on the intercity movement of persons.
       American Sociological Review 11(6), 677-686.
    .. [2] Viboud, C., Bjørnstad, O. N., Smith, D. L., Simonsen, L., Miller, M. A., & Grenfell,
       B. T. (2006). Synchrony, waves, and spatial hierarchies in the spread of influenza.
       Science 312(5772), 447-451.
    """
    pop = _as_vector(population, "population")
    if np.any(pop <= 0):
        raise ValueError("population: every district needs a positive population")
    n = pop.size
    dist = np.asarray(distance_km, dtype=np.float64)
    if dist.shape != (n, n):
        raise ValueError(f"distance_km: expected shape ({n}, {n}), got {dist.shape}")
    off_diagonal = ~np.eye(n, dtype=bool)
    if not np.all(np.isfinite(dist[off_diagonal])) or np.any(dist[off_diagonal] <= 0):
        raise ValueError("distance_km: distances between distinct districts must be positive")
    for name, value in (
        ("origin_exponent", origin_exponent),
        ("destination_exponent", destination_exponent),
        ("distance_exponent", distance_exponent),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}: must be a finite non-negative number, got {value}")
    stay = np.broadcast_to(np.asarray(stay_share, dtype=np.float64), (n,)).copy()
    if np.any(~np.isfinite(stay)) or np.any((stay < 0) | (stay > 1)):
        raise ValueError("stay_share: must lie in [0, 1]")

    # Work in logs so that large populations and exponents do not overflow.
    log_flows = (
        origin_exponent * np.log(pop)[:, None]
        + destination_exponent * np.log(pop)[None, :]
        - distance_exponent * np.log(np.where(off_diagonal, dist, 1.0))
    )
    flows = np.where(off_diagonal, np.exp(log_flows - log_flows[off_diagonal].max(initial=0.0)), 0)
    row_total = flows.sum(axis=1, keepdims=True)
    destination_share = np.divide(flows, row_total, out=np.zeros_like(flows), where=row_total > 0)
    # A lone district (or one with nowhere to go) keeps all of its contact time at home.
    stay = np.where(row_total[:, 0] > 0, stay, 1.0)
    share = destination_share * (1.0 - stay)[:, None] + np.diag(stay)
    matrix = MobilityMatrix(
        contact_share=share, relative_flows=flows, stay_share=np.diag(share).copy()
    )
    if travel_cut is None:
        return matrix
    cut_share = apply_travel_cut(share, travel_cut=travel_cut)
    return MobilityMatrix(
        contact_share=cut_share, relative_flows=flows, stay_share=np.diag(cut_share).copy()
    )


def apply_travel_cut(contact_share: npt.ArrayLike, *, travel_cut: npt.ArrayLike) -> FloatArray:
    """Scale travel out of and into districts under a mobility cut.

    The share of time residents of ``i`` spend in another district ``j`` is multiplied by
    ``(1 - cut_i) (1 - cut_j)``: a cut district sends fewer of its residents out and receives
    fewer visitors. The time no longer spent travelling is spent at home, so rows still sum to 1.

    Parameters
    ----------
    contact_share : array_like, shape (D, D)
        Row-stochastic contact-share matrix.
    travel_cut : array_like, shape (D,)
        Fraction of travel removed per district, in [0, 1] (1 closes the district).

    Returns
    -------
    ndarray, shape (D, D)
        The row-stochastic contact-share matrix after the cut.
    """
    share = np.asarray(contact_share, dtype=np.float64)
    if share.ndim != 2 or share.shape[0] != share.shape[1]:
        raise ValueError(f"contact_share: expected a square matrix, got shape {share.shape}")
    if np.any(share < 0) or not np.allclose(share.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError("contact_share: must be non-negative with rows summing to 1")
    cut = _as_vector(travel_cut, "travel_cut")
    if cut.size != share.shape[0]:
        raise ValueError(f"travel_cut: expected {share.shape[0]} districts, got {cut.size}")
    if np.any((cut < 0) | (cut > 1)):
        raise ValueError("travel_cut: every entry must lie in [0, 1]")
    keep = 1.0 - cut
    travel = share * np.outer(keep, keep)
    np.fill_diagonal(travel, 0.0)
    result: FloatArray = travel + np.diag(1.0 - travel.sum(axis=1))
    return result


def _as_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    vector = np.asarray(values, dtype=np.float64)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{name}: must be finite")
    return vector
