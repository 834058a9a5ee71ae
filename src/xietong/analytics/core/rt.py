"""The instantaneous reproduction number Rt (Cori et al. 2013) of every district at once.

It follows EpiEstim's conventions to the letter, so that every figure can be checked against the
published tool; the whole (districts × days) array is processed by array operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

from xietong.analytics.core.arrays import FloatArray, IntArray, freeze_arrays
from xietong.analytics.core.distributions import check_serial_interval, serial_interval_mean
from xietong.analytics.core.validation import as_district_matrix

__all__ = [
    "DEFAULT_PRIOR_MEAN",
    "DEFAULT_PRIOR_SD",
    "DEFAULT_QUANTILE_LEVELS",
    "DEFAULT_WINDOW_DAYS",
    "RtEstimate",
    "estimate_rt",
    "gamma_quantiles",
    "total_infectiousness",
]


DEFAULT_WINDOW_DAYS: Final = 7
DEFAULT_PRIOR_MEAN: Final = 5.0
DEFAULT_PRIOR_SD: Final = 5.0
DEFAULT_QUANTILE_LEVELS: Final = (0.025, 0.25, 0.5, 0.75, 0.975)


@dataclass(frozen=True, eq=False)
class RtEstimate:
    """Posterior of Rt over sliding windows, for D districts and W windows.

    Windows are numbered by days as EpiEstim numbers them: day 1 is the first column of the
    incidence, ``t_start`` and ``t_end`` are 1-based and inclusive, and each estimate belongs to
    its window's last day (``incidence[:, t_end - 1]``).

    Attributes
    ----------
    t_start, t_end : numpy.ndarray, shape (W,)
        First and last day of each window (1-based, inclusive), shared by all districts.
    shape, scale : numpy.ndarray, shape (D, W)
        Parameters of the gamma posterior of Rt.
    mean, sd : numpy.ndarray, shape (D, W)
        Posterior mean and standard deviation.
    quantile_levels : tuple of float
        Probability levels of ``quantiles``.
    quantiles : numpy.ndarray, shape (Q, D, W)
        ``quantiles[i]`` is the posterior quantile at ``quantile_levels[i]``.
    local_cases : numpy.ndarray, shape (D, W)
        Local cases in the window (the posterior's numerator data).
    infectiousness : numpy.ndarray, shape (D, W)
        Σ Λ_t over the window (the posterior's denominator data). Where it is 0, the window
        carries no information on Rt: see `estimate_rt`.

    Windows that end on or before the mean serial interval are NaN throughout, as EpiEstim
    drops them.
    """

    t_start: IntArray
    t_end: IntArray
    shape: FloatArray
    scale: FloatArray
    mean: FloatArray
    sd: FloatArray
    quantile_levels: tuple[float, ...]
    quantiles: FloatArray
    local_cases: FloatArray
    infectiousness: FloatArray

    def __post_init__(self) -> None:
        freeze_arrays(self)

    def quantile(self, level: float) -> FloatArray:
        """The posterior quantile at ``level`` (one of `quantile_levels`), shape (D, W)."""
        # Plain float arithmetic (np.isclose's test with rtol 0): callers ask for a level per
        # value they read, and NumPy's scalar machinery would cost more than the lookup.
        for i, computed in enumerate(self.quantile_levels):
            if abs(computed - float(level)) <= 1e-12:
                return np.asarray(self.quantiles[i], dtype=np.float64)
        raise ValueError(
            f"level {level} was not computed; quantile_levels are {self.quantile_levels}"
        )

    @property
    def median(self) -> FloatArray:
        """Posterior median, shape (D, W)."""
        return self.quantile(0.5)

    @property
    def lower(self) -> FloatArray:
        """Lower end (2.5 %) of the 95 % credible interval, shape (D, W)."""
        return self.quantile(0.025)

    @property
    def upper(self) -> FloatArray:
        """Upper end (97.5 %) of the 95 % credible interval, shape (D, W)."""
        return self.quantile(0.975)


def estimate_rt(
    incidence: npt.ArrayLike,
    *,
    serial_interval: npt.ArrayLike,
    imported: npt.ArrayLike | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    prior_mean: float = DEFAULT_PRIOR_MEAN,
    prior_sd: float = DEFAULT_PRIOR_SD,
    quantile_levels: Sequence[float] = DEFAULT_QUANTILE_LEVELS,
) -> RtEstimate:
    """Estimate the instantaneous reproduction number on sliding windows, for every district.

    With I_t the cases of day t (local plus imported) and w_s the serial interval, the total
    infectiousness is Λ_t = Σ_{s=1}^{t-1} w_s I_{t-s}. With a gamma prior of shape a and scale
    b, Rt over the window [t_s, t_e] has a gamma posterior of shape a + Σ local I_t and scale
    1 / (1/b + Σ Λ_t), sums over the window.

    EpiEstim's conventions, kept exactly:

    * the cases of day 1 are all imported (they seed Λ but are never "caused" by earlier cases);
    * windows have ``window_days`` days, start on days 2 ... T - window_days + 1 and are
      labelled by their last day;
    * windows whose last day is not after the mean serial interval (Σ k w_k) are NaN;
    * imported cases count in Λ but not in the numerator.

    A window with no local case and Λ = 0 (nothing before it, nothing in it) returns the
    prior itself (mean ``prior_mean``, sd ``prior_sd``); one with local cases but Λ = 0 returns
    the prior updated by the counts alone, shape a + n and scale b, a large Rt meaning "cases
    from nowhere". Both are finite; ``infectiousness == 0`` marks them.

    Parameters
    ----------
    incidence : array_like, shape (D, T) or (T,)
        New cases per district and day, oldest day first. When ``imported`` is given these are
        the local cases only. Non-negative; need not be integers (e.g. nowcast-adjusted).
        A 1-D series is treated as one district, and the result still has D = 1.
    serial_interval : array_like
        w_0, w_1, ...: checked by `check_serial_interval` (w_0 = 0, sum 1 ± 0.01).
    imported : array_like, optional
        Imported cases, same shape as ``incidence`` (EpiEstim's ``incid$imported``).
    window_days : int
        Length of each window, at least 1; T must exceed it.
    prior_mean, prior_sd : float
        Mean and standard deviation of the gamma prior on Rt (EpiEstim: 5 and 5).
    quantile_levels : sequence of float
        Posterior quantiles to compute, each in (0, 1); pass ``()`` to skip them.

    Returns
    -------
    RtEstimate
        Arrays of shape (D, W) with W = T - window_days.

    Raises
    ------
    ValueError
        If ``incidence`` or ``imported`` is not a finite, non-negative matrix (or they differ
        in shape), the serial interval is ill-formed, the window is not shorter than the
        series, the prior is not positive or a quantile level is outside (0, 1); the message
        names the argument.

    References
    ----------
    .. [1] Cori A, Ferguson NM, Fraser C, Cauchemez S. A new framework and software to estimate
       time-varying reproduction numbers during epidemics. Am J Epidemiol 2013;178(9):1505-1512.
       doi:10.1093/aje/kwt133
    .. [2] Thompson RN, Stockwin JE, van Gaalen RD, et al. Improved inference of time-varying
       reproduction numbers during infectious disease outbreaks. Epidemics 2019;29:100356.
       doi:10.1016/j.epidem.2019.100356 (local and imported cases)
    .. [3] EpiEstim (R package, mrc-ide/EpiEstim), functions ``estimate_R`` and
       ``overall_infectivity``.
    """
    local = as_district_matrix(incidence, name="incidence")
    if imported is None:
        imported_cases = np.zeros_like(local)
    else:
        imported_cases = as_district_matrix(imported, name="imported")
        if imported_cases.shape != local.shape:
            raise ValueError(
                f"imported must have the shape of incidence {local.shape}, "
                f"got {imported_cases.shape}"
            )
    weights = check_serial_interval(serial_interval)
    window = _check_window(window_days, local.shape[1])
    prior_shape, prior_scale = _gamma_prior(prior_mean, prior_sd)
    levels = _check_levels(quantile_levels)

    local = local.copy()
    imported_cases = imported_cases.copy()
    # EpiEstim treats everything on day 1 as imported: nothing earlier could have caused it.
    imported_cases[:, 0] += local[:, 0]
    local[:, 0] = 0.0

    days = local.shape[1]
    infectiousness_by_day = total_infectiousness(local + imported_cases, weights)

    # Windows start on day 2 (column 1): Λ_1 is undefined.
    local_sums = _window_sums(local[:, 1:], window)
    infectiousness = _window_sums(infectiousness_by_day[:, 1:], window)

    post_shape = prior_shape + local_sums
    post_scale = 1.0 / (1.0 / prior_scale + infectiousness)

    t_start = np.arange(2, days - window + 2, dtype=np.int64)
    t_end = t_start + (window - 1)
    too_early = t_end <= serial_interval_mean(weights)
    post_shape[:, too_early] = np.nan
    post_scale[:, too_early] = np.nan

    mean = post_shape * post_scale
    sd = np.sqrt(post_shape) * post_scale
    quantiles = gamma_quantiles(levels, post_shape) * post_scale

    return RtEstimate(
        t_start=t_start,
        t_end=t_end,
        shape=post_shape,
        scale=post_scale,
        mean=mean,
        sd=sd,
        quantile_levels=levels,
        quantiles=quantiles,
        local_cases=local_sums,
        infectiousness=infectiousness,
    )


# Newton-Halley refinement stops once a step is this small in units of min(x, sqrt(a)): the
# next error is then below (1e-6)^3, far under double precision (see `gamma_quantiles`).
_QUANTILE_STEP_TOLERANCE: Final = 1e-6
_QUANTILE_MAX_STEPS: Final = 50
# Above this shape the Cornish-Fisher start is already within 1e-4 standard deviations.
_CORNISH_FISHER_MIN_SHAPE: Final = 10.0


def gamma_quantiles(levels: Sequence[float], shape: npt.ArrayLike) -> FloatArray:
    """Quantiles of the standard gamma distribution (scale 1) at several levels, to full precision.

    Equal to ``scipy.stats.gamma.ppf(level, shape)`` (its ``gammaincinv``) up to rounding, and
    several times faster on large arrays: the posterior of Rt has one shape per district and
    window, and ``gammaincinv`` spends most of its time per element. Here every element starts
    from a close closed-form guess and is refined by Halley steps on ``scipy.special.gammainc``
    (``gammaincc`` above the median, so that the upper tail keeps its relative precision).

    * Start, shape a >= 10: the Cornish-Fisher expansion of the gamma quantile to the term in
      a^(-3/2) [1]_ [2]_, with z the standard normal quantile::

          x = a + z sqrt(a) + (z^2 - 1)/3 + (z^3 - 7z)/(36 sqrt(a))
              - (3z^4 + 7z^2 - 16)/(810 a) + (9z^5 + 256z^3 - 433z)/(38880 a sqrt(a))

      Its error is O(a^-2) (below 1e-9 standard deviations from a = 1,000), so that one
      Halley step is enough for almost every posterior of real counts.
    * Start, 1 <= a < 10: the Wilson-Hilferty cube-root approximation [3]_, or the leading term
      of the lower tail, (p Γ(a + 1))^(1/a), where that is larger (small a, small p).
    * Refinement: Halley's method on F(x) = P(a, x) - p, using the density f and
      f'/f = (a - 1)/x - 1. Halley's error shrinks as the cube of the last; an element stops
      once its step is below 1e-6 of min(x, sqrt(a)), the natural scale of its distribution,
      which leaves an error near 1e-18 of that scale.
    * Shape 1 (a window without a case under the default prior) is the exponential
      distribution, -log(1 - p). Shapes below 1 (a prior with sd above its mean and no case)
      and any element that has not converged after 50 steps are handed to
      ``scipy.special.gammaincinv``.
    * Each distinct shape is solved once: posterior shapes are the prior's plus whole counts,
      so they repeat.

    Parameters
    ----------
    levels : sequence of float
        Probability levels, each strictly between 0 and 1.
    shape : array_like
        Shape parameters a > 0; NaN (or a non-positive shape) gives NaN.

    Returns
    -------
    numpy.ndarray, shape (len(levels), *shape.shape)
        ``result[i]`` holds the quantiles at ``levels[i]``.

    References
    ----------
    .. [1] Fisher RA, Cornish EA. The percentile points of distributions having known
       cumulants. Technometrics 1960;2(2):209-225. doi:10.1080/00401706.1960.10489895
    .. [2] Abramowitz M, Stegun IA. Handbook of Mathematical Functions, 1964, formula 26.2.50
       (the Cornish-Fisher expansion), with the gamma cumulants κ_r = (r - 1)! a.
    .. [3] Wilson EB, Hilferty MM. The distribution of chi-square. Proc Natl Acad Sci USA
       1931;17(12):684-688. doi:10.1073/pnas.17.12.684
    """
    level_array = np.asarray(_check_levels(levels), dtype=np.float64)
    shapes = np.asarray(shape, dtype=np.float64)
    result = np.full((level_array.size, *shapes.shape), np.nan)
    if level_array.size == 0 or shapes.size == 0:
        return result
    flat_shapes = shapes.reshape(-1)
    with np.errstate(invalid="ignore"):
        known = np.isfinite(flat_shapes) & (flat_shapes > 0.0)
    # Posterior shapes are the prior's plus whole case counts: they repeat a great deal (every
    # window without a case has the prior's shape), so each distinct shape is solved once.
    distinct, where = np.unique(flat_shapes[known], return_inverse=True)
    values = np.empty((level_array.size, distinct.size))
    exponential = distinct == 1.0
    iterated = distinct > 1.0
    delegated = distinct < 1.0
    # Shape 1 is the exponential distribution, whose quantile has a closed form.
    values[:, exponential] = -np.log1p(-level_array)[:, np.newaxis]
    if np.any(iterated):
        values[:, iterated] = _refined_gamma_quantiles(level_array, distinct[iterated])
    if np.any(delegated):
        values[:, delegated] = special.gammaincinv(
            distinct[delegated][np.newaxis, :], level_array[:, np.newaxis]
        )
    # Quantiles never fall as the level rises; rounding in the last bit could say otherwise for
    # levels one ulp apart, so make the order exact along the sorted levels.
    order = np.argsort(level_array, kind="stable")
    values[order] = np.maximum.accumulate(values[order], axis=0)
    result.reshape(level_array.size, -1)[:, known] = values[:, where]
    return result


def _refined_gamma_quantiles(levels: FloatArray, shape: FloatArray) -> FloatArray:
    """`gamma_quantiles` for shapes >= 1: start, then Halley steps; shape (L, n)."""
    a = np.broadcast_to(shape, (levels.size, shape.size))
    z = special.ndtri(levels)[:, np.newaxis]
    root_a = np.sqrt(shape)
    x = np.empty(a.shape)
    large = shape >= _CORNISH_FISHER_MIN_SHAPE
    if np.any(large):
        r, s = root_a[large], shape[large]
        x[:, large] = (
            s
            + z * r
            + (z * z - 1.0) / 3.0
            + (z**3 - 7.0 * z) / (36.0 * r)
            - (3.0 * z**4 + 7.0 * z * z - 16.0) / (810.0 * s)
            + (9.0 * z**5 + 256.0 * z**3 - 433.0 * z) / (38880.0 * s * r)
        )
    if not np.all(large):
        s, r = shape[~large], root_a[~large]
        cube_root = 1.0 - 1.0 / (9.0 * s) + z / (3.0 * r)
        wilson_hilferty = s * np.maximum(cube_root, 0.0) ** 3
        lower_tail = np.exp((np.log(levels)[:, np.newaxis] + special.gammaln(s + 1.0)) / s)
        x[:, ~large] = np.maximum(wilson_hilferty, lower_tail)

    flat_a = a.reshape(-1)
    flat_x = x.reshape(-1)
    p = np.broadcast_to(levels[:, np.newaxis], a.shape).reshape(-1)
    log_gamma = np.broadcast_to(special.gammaln(shape), a.shape).reshape(-1)
    flat_root_a = np.broadcast_to(root_a, a.shape).reshape(-1)
    upper = p > 0.5
    active = np.arange(flat_x.size)
    for _ in range(_QUANTILE_MAX_STEPS):
        if active.size == 0:
            break
        ai, xi, pi = flat_a[active], flat_x[active], p[active]
        residual = np.empty(active.size)
        up = upper[active]
        # Each element evaluates only the tail it needs: the two calls are the whole cost.
        residual[up] = (1.0 - pi[up]) - special.gammaincc(ai[up], xi[up])
        residual[~up] = special.gammainc(ai[~up], xi[~up]) - pi[~up]
        newton = residual * np.exp(xi + log_gamma[active] - (ai - 1.0) * np.log(xi))
        halley = newton / np.maximum(1.0 - 0.5 * newton * ((ai - 1.0) / xi - 1.0), 0.5)
        stepped = xi - halley
        stepped = np.where(stepped > 0.0, stepped, 0.5 * xi)
        flat_x[active] = stepped
        natural_scale = np.minimum(stepped, flat_root_a[active])
        active = active[np.abs(halley) > _QUANTILE_STEP_TOLERANCE * natural_scale]
    if active.size:
        flat_x[active] = special.gammaincinv(flat_a[active], p[active])
    return x


def total_infectiousness(incidence: npt.ArrayLike, serial_interval: npt.ArrayLike) -> FloatArray:
    """Λ_t = Σ_{s=1}^{t-1} w_s I_{t-s} for every district and day, as one matrix product.

    Parameters
    ----------
    incidence : array_like, shape (D, T) or (T,)
        All cases (local and imported) per district and day.
    serial_interval : array_like
        w_0, w_1, ...: checked by `check_serial_interval`.

    Returns
    -------
    numpy.ndarray, shape (D, T)
        Λ per district and day. Λ_1 (column 0), undefined in EpiEstim, is 0 here.

    Notes
    -----
    The lower-triangular Toeplitz kernel K[j, t] = w_{t-j} turns the convolution into a single
    BLAS product, exact up to rounding (an FFT would leave ±1e-16 residues where Λ is truly 0).
    It holds T² numbers, about 8 MB for three years of days.

    References
    ----------
    .. [1] Cori A, et al. Am J Epidemiol 2013;178(9):1505-1512. doi:10.1093/aje/kwt133
    """
    cases = as_district_matrix(incidence, name="incidence")
    weights = check_serial_interval(serial_interval)
    days = cases.shape[1]
    lag = np.arange(days)[np.newaxis, :] - np.arange(days)[:, np.newaxis]
    in_support = (lag >= 1) & (lag < weights.size)
    kernel = np.zeros((days, days), dtype=np.float64)
    kernel[in_support] = weights[lag[in_support]]
    return np.asarray(cases @ kernel, dtype=np.float64)


def _window_sums(values: FloatArray, window: int) -> FloatArray:
    # Summing each window directly (rather than differencing a cumulative sum) keeps a window
    # with nothing in it exactly 0 and its sums exact for integer counts.
    return np.asarray(sliding_window_view(values, window, axis=1).sum(axis=2), dtype=np.float64)


def _check_window(window_days: int, days: int) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer):
        raise ValueError(f"window_days must be an integer, got {window_days!r}")
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    if days <= window_days:
        raise ValueError(
            f"incidence must cover more days than window_days ({window_days}): "
            f"got {days} days, and windows start on day 2"
        )
    return int(window_days)


def _gamma_prior(prior_mean: float, prior_sd: float) -> tuple[float, float]:
    for name, value in (("prior_mean", prior_mean), ("prior_sd", prior_sd)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return (prior_mean / prior_sd) ** 2, prior_sd**2 / prior_mean


def _check_levels(quantile_levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(float(level) for level in quantile_levels)
    for level in levels:
        if not 0.0 < level < 1.0:
            raise ValueError(f"quantile_levels must lie strictly between 0 and 1, got {level}")
    return levels
