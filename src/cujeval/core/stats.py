"""Intervals and paired tests behind SLO verdicts and baseline comparison.

Pure functions over numbers (numpy and the standard library). Confidence levels follow
one convention: ``one_sided=True`` makes *each* bound the one-sided bound at ``confidence``
(z = Φ⁻¹(c), tail α = 1 − c); ``one_sided=False`` gives the two-sided interval
(z = Φ⁻¹(1 − (1 − c)/2), tails α/2).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Reducer = Callable[[FloatArray], FloatArray]

MAX_EXTRA_CASES = 10**7
_CELLS_PER_CHUNK = 1 << 22  # resampled values held at once (32 MiB of float64)
_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")


def _z(confidence: float, one_sided: bool) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = 1.0 - confidence if one_sided else (1.0 - confidence) / 2.0
    return NormalDist().inv_cdf(1.0 - tail)


def z_one_sided(confidence: float) -> float:
    """Φ⁻¹(c): the normal quantile of a one-sided bound at ``confidence``."""
    return _z(confidence, True)


def _wilson(
    good: npt.NDArray[np.int64], n: npt.NDArray[np.int64], z: float
) -> tuple[FloatArray, FloatArray]:
    """Vectorised Wilson score bounds (n > 0); exact 0 / 1 at g = 0 / g = n."""
    p = good / n
    z2n = z * z / n
    denom = 1.0 + z2n
    center = (p + z2n / 2.0) / denom
    half = z * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / denom
    lower = np.where(good == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    upper = np.where(good == n, 1.0, np.clip(center + half, 0.0, 1.0))
    return lower, upper


def wilson_bounds(
    good: float, n: float, confidence: float = 0.95, *, one_sided: bool = True
) -> tuple[float, float]:
    """Wilson score bounds of a proportion good/n (n may be an effective, fractional size:
    repeats reduced to shares of good, or clusters discounted by their design effect).

    With p̂ = g/n: centre = (p̂ + z²/2n) / (1 + z²/n),
    half-width = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n); bounds are centre ∓ half-width,
    exactly 0 at g = 0 and 1 at g = n. n = 0 gives (0.0, 1.0): nothing is known.
    """
    if n < 0 or not 0 <= good <= max(n, 0):
        raise ValueError(f"need 0 <= good <= n, got good={good}, n={n}")
    z = _z(confidence, one_sided)
    if n == 0:
        return 0.0, 1.0
    lower, upper = _wilson(np.array([good]), np.array([n]), z)
    return float(lower[0]), float(upper[0])


def cases_to_decide(good: int, n: int, target: float, confidence: float) -> int | None:
    """Fewest further cases m that would turn an INCONCLUSIVE ratio verdict into MET or BREACHED.

    Rule: the observed rate p̂ = g/n is assumed to hold, so m more cases add p̂·m good ones,
    rounded away from the target (up when p̂ > target, down when p̂ < target) so that rounding
    never moves the point estimate toward the target. The verdict uses one-sided Wilson bounds
    at ``confidence``: MET when lower >= target, BREACHED when upper < target. Returns 0 when
    already decided; None when n = 0, when p̂ equals the target (no m decides it), or when no
    m <= 10**7 does.
    """
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be in [0, 1], got {target}")
    lower, upper = wilson_bounds(good, n, confidence, one_sided=True)
    if n == 0 or math.isclose(good / n, target, rel_tol=0.0, abs_tol=1e-12):
        return None
    if lower >= target or upper < target:
        return 0
    z = _z(confidence, one_sided=True)
    above = good / n > target
    start, size = 1, 1024
    while start <= MAX_EXTRA_CASES:
        m = np.arange(start, min(start + size, MAX_EXTRA_CASES + 1), dtype=np.int64)
        extra = (good * m + n - 1) // n if above else (good * m) // n
        lo, hi = _wilson(good + extra, n + m, z)
        decided = np.flatnonzero((lo >= target) | (hi < target))
        if decided.size:
            return int(m[decided[0]])
        start += size
        size = min(size * 2, 1 << 20)
    return None


def _reducer(statistic: str) -> Reducer:
    """Row-wise statistic of a 2-D array; percentiles use numpy's default linear interpolation
    (position (n − 1)·q/100 between the order statistics)."""
    fixed: dict[str, Reducer] = {
        "mean": lambda a: np.mean(a, axis=1),
        "min": lambda a: np.min(a, axis=1),
        "max": lambda a: np.max(a, axis=1),
        "median": lambda a: np.percentile(a, 50.0, axis=1),
    }
    if statistic in fixed:
        return fixed[statistic]
    m = _PERCENTILE.fullmatch(statistic)
    if m and 0.0 <= float(m.group(1)) <= 100.0:
        q = float(m.group(1))
        return lambda a: np.percentile(a, q, axis=1)
    raise ValueError(f"unknown statistic {statistic!r}; use mean, median, min, max or pNN (p95)")


def _as_array(values: Sequence[float] | FloatArray, name: str = "values") -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty: no statistic of zero cases")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def statistic_value(values: Sequence[float] | FloatArray, statistic: str) -> float:
    """The statistic (mean, median, min, max, pNN) of the sample."""
    reduce = _reducer(statistic)
    return float(reduce(_as_array(values)[np.newaxis, :])[0])


def _resampled(
    samples: Sequence[FloatArray], reduce: Reducer, n_resamples: int, seed: int
) -> list[FloatArray]:
    """Per sample, the statistic over n_resamples bootstrap draws sharing the same indices."""
    n = samples[0].size
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CELLS_PER_CHUNK // n))
    out = [np.empty(n_resamples) for _ in samples]
    for pos in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - pos)
        idx = rng.integers(0, n, size=(rows, n))
        for sample, dest in zip(samples, out, strict=True):
            dest[pos : pos + rows] = reduce(sample[idx])
    return out


def _percentile_interval(
    dist: FloatArray, confidence: float, one_sided: bool
) -> tuple[float, float]:
    _z(confidence, one_sided)
    alpha = 1.0 - confidence if one_sided else (1.0 - confidence) / 2.0
    lo, hi = np.quantile(dist, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _check_resamples(n_resamples: int) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")


def bootstrap_interval(
    values: Sequence[float] | FloatArray,
    statistic: str,
    confidence: float = 0.95,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    one_sided: bool = True,
) -> tuple[float, float]:
    """Percentile-bootstrap bounds of ``statistic``: resample the n values with replacement
    ``n_resamples`` times and take the α and 1 − α quantiles of the resampled statistic.

    Deterministic for a given seed. n = 0 raises ValueError; n = 1 gives (v, v).
    """
    arr = _as_array(values)
    reduce = _reducer(statistic)
    _z(confidence, one_sided)
    _check_resamples(n_resamples)
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    [dist] = _resampled([arr], reduce, n_resamples, seed)
    lo, hi = _percentile_interval(dist, confidence, one_sided)
    # every statistic here (mean, quantiles, max) of a resample lies within the sample's range;
    # a mean of equal values can round one ulp past it
    low, high = float(arr.min()), float(arr.max())
    return min(max(lo, low), high), max(min(hi, high), low)


def paired_bootstrap_diff(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    statistic: str = "mean",
    confidence: float = 0.95,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    one_sided: bool = True,
) -> tuple[float, float]:
    """Percentile-bootstrap bounds of stat(a) − stat(b) for paired samples (a[i] and b[i] are
    the same case): each resample draws the same case indices from both.

    Deterministic for a given seed; unequal lengths or n = 0 raise ValueError.
    """
    xa, xb = _as_array(a, "a"), _as_array(b, "b")
    if xa.size != xb.size:
        raise ValueError(f"paired samples differ in length: {xa.size} != {xb.size}")
    reduce = _reducer(statistic)
    _z(confidence, one_sided)
    _check_resamples(n_resamples)
    if xa.size == 1:
        d = float(xa[0] - xb[0])
        return d, d
    da, db = _resampled([xa, xb], reduce, n_resamples, seed)
    return _percentile_interval(da - db, confidence, one_sided)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value on the discordant pairs (b: good→bad, c: bad→good).

    p = min(1, 2·P[X <= min(b, c)]) with X ~ Binomial(b + c, ½); 1.0 when b + c = 0.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    n, m = b + c, min(b, c)
    log_norm = math.lgamma(n + 1) - n * math.log(2.0)
    tail = math.fsum(
        math.exp(log_norm - math.lgamma(i + 1) - math.lgamma(n - i + 1)) for i in range(m + 1)
    )
    return min(1.0, 2.0 * tail)


def quantile_of(statistic: str) -> float | None:
    """The quantile (0..1) a statistic names: pNN -> NN/100, median -> 0.5; else None."""
    if statistic == "median":
        return 0.5
    m = _PERCENTILE.fullmatch(statistic)
    return float(m.group(1)) / 100.0 if m else None


def _binomial_cdf(n: int, q: float) -> FloatArray:
    """P[B <= k] for k = 0..n, B ~ Binomial(n, q) (log-space pmf, stable for large n)."""
    k = np.arange(n + 1, dtype=np.float64)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))))
    with np.errstate(divide="ignore"):
        log_pmf = (
            log_fact[n]
            - log_fact[: n + 1]
            - log_fact[n::-1]
            + k * math.log(q)
            + (n - k) * math.log1p(-q)
        )
    cdf: FloatArray = np.cumsum(np.exp(log_pmf))
    return np.minimum(cdf, 1.0)


def quantile_bounds(
    values: Sequence[float] | FloatArray, q: float, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Exact distribution-free one-sided bounds for the q-quantile ξ from order statistics, at
    any n; a bound that n values cannot give is None.

    B, the number of values below ξ, is Binomial(n, q), so P[x₍ₗ₎ <= ξ] = P[B >= l] and
    P[x₍ᵤ₎ >= ξ] = P[B <= u − 1]. The lower bound is x₍ₗ₎ for the largest l with
    P[B >= l] >= c (none when (1 − q)ⁿ > 1 − c); the upper bound is x₍ᵤ₎ for the smallest
    u <= n with P[B <= u − 1] >= c (none when qⁿ > 1 − c: p95 at 95 % needs 59 values). So 20
    values all above a bound prove p95 above it, while proving it below needs 59.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    _z(confidence, True)
    arr = np.sort(_as_array(values))
    n = arr.size
    cdf = _binomial_cdf(n, q)
    alpha = 1.0 - confidence
    below = np.flatnonzero(cdf[:n] <= alpha + 1e-12)  # k = l - 1: P[B >= l] >= c
    lower = float(arr[below[-1]]) if below.size else None
    above = np.flatnonzero(cdf[:n] >= confidence - 1e-12)  # k = u - 1: P[B < u] >= c
    upper = float(arr[above[0]]) if above.size else None
    return lower, upper


def quantile_interval(
    values: Sequence[float] | FloatArray,
    q: float,
    confidence: float = 0.95,
    *,
    one_sided: bool = True,
) -> tuple[float, float]:
    """:func:`quantile_bounds` (two-sided: each tail (1 − c)/2), a missing bound clipped to the
    sample's extreme value. Raises ValueError for q outside (0, 1) or no values."""
    level = confidence if one_sided else 1.0 - (1.0 - confidence) / 2.0
    lo, hi = quantile_bounds(values, q, level)
    arr = _as_array(values)
    return (float(arr.min()) if lo is None else lo), (float(arr.max()) if hi is None else hi)


def aggregate_interval(
    values: Sequence[float] | FloatArray,
    statistic: str,
    confidence: float = 0.95,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    one_sided: bool = True,
) -> tuple[float, float]:
    """Bounds of ``statistic`` for an aggregate SLO: exact order-statistic bounds for a
    quantile (:func:`quantile_interval`), else the percentile bootstrap."""
    q = quantile_of(statistic)
    if q is not None and 0.0 < q < 1.0:
        return quantile_interval(values, q, confidence, one_sided=one_sided)
    return bootstrap_interval(
        values, statistic, confidence, n_resamples=n_resamples, seed=seed, one_sided=one_sided
    )
