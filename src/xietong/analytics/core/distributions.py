"""Serial-interval distributions on whole days, the weights w_k that Rt is estimated with.

Owns EpiEstim's offset-gamma discretisation, the Omicron default, and the check that any
distribution a user supplies must pass before it weights past cases.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from xietong.analytics.core.arrays import FloatArray

__all__ = [
    "OMICRON_SERIAL_INTERVAL_MEAN_DAYS",
    "OMICRON_SERIAL_INTERVAL_SD_DAYS",
    "SERIAL_INTERVAL_SUM_TOLERANCE",
    "check_serial_interval",
    "discretise_serial_interval",
    "normalise_serial_interval",
    "omicron_serial_interval",
    "serial_interval_mean",
]


OMICRON_SERIAL_INTERVAL_MEAN_DAYS: Final = 3.0
"""Default mean serial interval of Omicron, in days (see `omicron_serial_interval`)."""

OMICRON_SERIAL_INTERVAL_SD_DAYS: Final = 1.5
"""Default standard deviation of the Omicron serial interval, in days."""

SERIAL_INTERVAL_SUM_TOLERANCE: Final = 0.01
"""How far from 1 the weights may sum; EpiEstim's `check_si_distr` allows the same."""


def discretise_serial_interval(*, mean: float, sd: float, max_days: int) -> FloatArray:
    """Discretise a serial interval as EpiEstim's ``discr_si`` does (offset gamma).

    The continuous serial interval is 1 plus a gamma variable of mean ``mean - 1`` and standard
    deviation ``sd``; w_k is the probability that it falls on day k when the infector's onset
    is uniform within its day. With a = ((mean - 1) / sd)², b = sd² / (mean - 1) and F_a the
    gamma CDF of shape a and scale b::

        w_k = k F_a(k) + (k - 2) F_a(k - 2) - 2 (k - 1) F_a(k - 1)
              + a b [2 F_{a+1}(k - 1) - F_{a+1}(k - 2) - F_{a+1}(k)]

    floored at 0, so that w_0 = 0.

    Parameters
    ----------
    mean : float
        Mean serial interval in days; must exceed 1 (the offset).
    sd : float
        Standard deviation of the serial interval in days; must be positive.
    max_days : int
        Last day k of the returned weights (the array has ``max_days + 1`` entries, k = 0 ...).

    Returns
    -------
    numpy.ndarray
        w_0 ... w_max_days. Like EpiEstim, the weights are **not** renormalised: truncation at
        ``max_days`` leaves out the tail mass. Call `normalise_serial_interval` to rescale them
        to sum 1 (this changes Rt by the same small factor, and no longer matches EpiEstim).

    References
    ----------
    .. [1] Cori A, Ferguson NM, Fraser C, Cauchemez S. A new framework and software to estimate
       time-varying reproduction numbers during epidemics. Am J Epidemiol 2013;178(9):1505-1512,
       web appendix 11. doi:10.1093/aje/kwt133
    .. [2] EpiEstim (R package, mrc-ide/EpiEstim), function ``discr_si``.
    """
    _check_finite_scalar(mean, "mean")
    _check_finite_scalar(sd, "sd")
    if mean <= 1:
        raise ValueError(f"mean must be > 1 day (the serial interval is offset by 1), got {mean}")
    if sd <= 0:
        raise ValueError(f"sd must be > 0, got {sd}")
    if isinstance(max_days, bool) or not isinstance(max_days, int | np.integer):
        raise ValueError(f"max_days must be an integer, got {max_days!r}")
    if max_days < 1:
        raise ValueError(f"max_days must be >= 1, got {max_days}")

    shape = ((mean - 1.0) / sd) ** 2
    scale = sd**2 / (mean - 1.0)
    k = np.arange(int(max_days) + 1, dtype=np.float64)

    def cdf(x: FloatArray, a: float) -> FloatArray:
        # The gamma CDF is 0 at negative days, which makes w_0 come out as 0.
        return np.asarray(stats.gamma.cdf(x, a, scale=scale), dtype=np.float64)

    weights = (
        k * cdf(k, shape)
        + (k - 2.0) * cdf(k - 2.0, shape)
        - 2.0 * (k - 1.0) * cdf(k - 1.0, shape)
        + shape
        * scale
        * (2.0 * cdf(k - 1.0, shape + 1.0) - cdf(k - 2.0, shape + 1.0) - cdf(k, shape + 1.0))
    )
    # The tail terms cancel to within rounding; EpiEstim floors the negative residues at 0.
    return np.maximum(weights, 0.0)


def omicron_serial_interval(*, max_days: int = 20) -> FloatArray:
    """The default serial interval of the policy: Omicron, mean 3.0 days, sd 1.5 days.

    Published means for the Omicron sub-variants circulating in late 2022 lie between about
    2.4 and 2.8 days for BA.5 (Hong Kong: 2.7 days, 95 % CrI 2.1-3.6 [1]_; pooled BA.5
    estimate 2.37 days, 95 % CI 1.71-3.04 [2]_) and up to about 4 days for BA.2; 3.0 ± 1.5
    days sits within that range. Analyses should show Rt's sensitivity to means of 2.0 to 4.0
    days.

    Parameters
    ----------
    max_days : int
        Last day of the weights; 20 days leaves a tail below 1e-6.

    Returns
    -------
    numpy.ndarray
        w_0 ... w_max_days from `discretise_serial_interval` (not renormalised).

    References
    ----------
    .. [1] Guo Z, Zhao S, Yam CHK, et al. Estimating the serial intervals of SARS-CoV-2
       Omicron BA.4, BA.5, and BA.2.12.1 variants in Hong Kong. Influenza Other Respir Viruses
       2023;17(2):e13105. doi:10.1111/irv.13105
    .. [2] Xu X, Wu Y, Kummer AG, et al. Assessing changes in incubation period, serial
       interval, and generation time of SARS-CoV-2 variants of concern: a systematic review and
       meta-analysis. BMC Med 2023;21. doi:10.1186/s12916-023-03070-8
    """
    return discretise_serial_interval(
        mean=OMICRON_SERIAL_INTERVAL_MEAN_DAYS,
        sd=OMICRON_SERIAL_INTERVAL_SD_DAYS,
        max_days=max_days,
    )


def check_serial_interval(weights: npt.ArrayLike, *, name: str = "serial_interval") -> FloatArray:
    """Check a non-parametric serial interval and return it as a float array.

    The rules are EpiEstim's (``check_si_distr``): a one-dimensional array w_0, w_1, ... of
    finite, non-negative weights with w_0 == 0 (nobody infects on the day they fall ill) and a
    sum within `SERIAL_INTERVAL_SUM_TOLERANCE` of 1.

    Parameters
    ----------
    weights : array_like
        w_0, w_1, ...: the probability that the serial interval is k days.
    name : str
        The caller's argument name, used in error messages.

    Returns
    -------
    numpy.ndarray
        A float64 copy of the weights.

    Raises
    ------
    ValueError
        Naming ``name`` and the rule broken.

    References
    ----------
    .. [1] EpiEstim (R package, mrc-ide/EpiEstim), function ``check_si_distr``.
    """
    try:
        w = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
    if w.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (w_0, w_1, ...), got shape {w.shape}")
    if w.size < 2:
        raise ValueError(f"{name} must have at least two weights (w_0 and w_1), got {w.size}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must contain only finite numbers")
    if np.any(w < 0):
        first = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"{name} must be non-negative, got {w[first]} at day {first}")
    if w[0] != 0:
        raise ValueError(f"{name}[0] (the weight of day 0) must be 0, got {w[0]}")
    total = float(w.sum())
    if abs(total - 1.0) > SERIAL_INTERVAL_SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 ± {SERIAL_INTERVAL_SUM_TOLERANCE}, got a sum of {total:.6g}"
        )
    return w


def normalise_serial_interval(weights: npt.ArrayLike) -> FloatArray:
    """Rescale serial-interval weights to sum exactly 1.

    Use it when a tool requires weights that sum to 1 to a tighter tolerance than EpiEstim's
    (epyestim asserts 0.001); Rt estimated with the rescaled weights differs from EpiEstim's by
    the rescaling factor.

    Parameters
    ----------
    weights : array_like
        Weights that pass `check_serial_interval`.

    Returns
    -------
    numpy.ndarray
        ``weights / weights.sum()``.
    """
    w = check_serial_interval(weights, name="weights")
    return np.asarray(w / w.sum(), dtype=np.float64)


def serial_interval_mean(weights: npt.ArrayLike) -> float:
    """Mean of a discrete serial interval, Σ k w_k, as EpiEstim computes it (no renormalising).

    Parameters
    ----------
    weights : array_like
        w_0, w_1, ...

    Returns
    -------
    float
        The mean in days.
    """
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(np.arange(w.size, dtype=np.float64), w))


def _check_finite_scalar(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value}")
