"""Latency histograms for load runs: log-spaced buckets, fixed memory, about 1 % relative error.

Why not the ``hdrhistogram`` package: it would do (HDR's idea is the same: buckets whose width
grows with the value, so relative precision is constant), but it wants integer values in a
unit chosen up front, ships no type information, and would be one more dependency in every
install for ~100 lines. Here a value v (seconds) falls in bucket ⌊ln(v / LOWEST) / ln(RATIO)⌋;
a bucket's value is its geometric midpoint, so any reported quantile is within ±1 % of a
value actually recorded in that bucket, and it is clamped to the exact minimum and maximum (a
run whose values are all equal reports them exactly). :class:`LogHistogram` holds one count per
bucket (BUCKETS × 8 bytes, ~9 KiB) whatever the number of values; :class:`SparseHistogram` holds
only the buckets hit, for the per-second windows of a time series.

Quantiles are nearest-rank (the value of rank ⌈q·n⌉, as HdrHistogram reports them); their
intervals are distribution-free, from order statistics: rank bounds
⌊nq − z√(nq(1−q))⌋ and ⌈nq + z√(nq(1−q))⌉ + 1, two-sided at the confidence (as
``cujeval.core.stats.quantile_interval``, here on bucket values).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator
from statistics import NormalDist
from typing import Any

LOWEST = 1e-6  # seconds: values below count in the first bucket
HIGHEST = 1e4  # seconds: values above count in the last bucket (the exact max is kept)
RATIO = 1.02  # bucket width: a bucket's midpoint is within ±1 % of anything in it
_LOG_RATIO = math.log(RATIO)
BUCKETS = math.ceil(math.log(HIGHEST / LOWEST) / _LOG_RATIO) + 1
QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)


def bucket_of(value: float) -> int:
    if not value > LOWEST:  # also NaN
        return 0
    return min(BUCKETS - 1, int(math.log(value / LOWEST) / _LOG_RATIO))


def bucket_value(index: int) -> float:
    """The geometric midpoint of bucket ``index``."""
    return float(LOWEST * RATIO ** (index + 0.5))


def quantile_label(q: float) -> str:
    """0.5 -> "p50", 0.999 -> "p99.9"."""
    text = f"{q * 100:.3f}".rstrip("0").rstrip(".")
    return f"p{text}"


def rank_bounds(n: int, q: float, confidence: float) -> tuple[int, int]:
    """1-based ranks of the order statistics that bound the q-quantile (two-sided)."""
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    spread = z * math.sqrt(n * q * (1.0 - q))
    lo = min(max(math.floor(n * q - spread), 1), n)
    hi = min(max(math.ceil(n * q + spread) + 1, 1), n)
    return lo, hi


class _Base:
    n: int
    total: float
    min: float
    max: float

    def _items(self) -> Iterator[tuple[int, int]]:
        """(bucket, count) in increasing bucket order, counts > 0."""
        raise NotImplementedError

    def _value(self, index: int) -> float:
        return min(max(bucket_value(index), self.min), self.max)

    def values_at_ranks(self, ranks: Iterable[int]) -> list[float]:
        """The (bucket) values of the given 1-based ranks, in one pass."""
        ranks = list(ranks)
        wanted = sorted({r for r in ranks if 1 < r < self.n})
        found: dict[int, float] = {1: self.min, self.n: self.max}  # the ends are exact
        seen = 0
        it = iter(wanted)
        rank = next(it, None)
        for index, count in self._items():
            seen += count
            while rank is not None and rank <= seen:
                found[rank] = self._value(index)
                rank = next(it, None)
            if rank is None:
                break
        return [found.get(r, self.max if r > 1 else self.min) for r in ranks]

    def quantile(self, q: float) -> float | None:
        if self.n == 0:
            return None
        return self.values_at_ranks([max(1, math.ceil(q * self.n))])[0]

    def summary(
        self, quantiles: Iterable[float] = QUANTILES, confidence: float | None = 0.95
    ) -> dict[str, Any]:
        """n, mean, min, max and each quantile; with ``confidence``, ``intervals`` too."""
        if self.n == 0:
            return {"n": 0}
        qs = list(quantiles)
        ranks = [max(1, math.ceil(q * self.n)) for q in qs]
        bounds = [rank_bounds(self.n, q, confidence) for q in qs] if confidence else []
        values = self.values_at_ranks(ranks + [r for pair in bounds for r in pair])
        out: dict[str, Any] = {
            "n": self.n,
            "mean": self.total / self.n,
            "min": self.min,
            "max": self.max,
        }
        for q, v in zip(qs, values, strict=False):
            out[quantile_label(q)] = v
        if confidence:
            rest = values[len(qs) :]
            out["intervals"] = {
                quantile_label(q): [rest[2 * i], rest[2 * i + 1]] for i, q in enumerate(qs)
            }
            out["confidence"] = confidence
        return out


class LogHistogram(_Base):
    """All values of a run in BUCKETS fixed counters."""

    def __init__(self) -> None:
        self.counts = array("q", bytes(8 * BUCKETS))
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def record(self, value: float) -> None:
        if not math.isfinite(value):
            return
        self.counts[bucket_of(value)] += 1
        self.n += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def merge(self, other: LogHistogram) -> None:
        for i, c in enumerate(other.counts):
            if c:
                self.counts[i] += c
        self.n += other.n
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def count_above(self, value: float) -> int:
        """Values recorded in buckets at or above ``value``'s bucket."""
        return sum(self.counts[bucket_of(value) :])

    def _items(self) -> Iterator[tuple[int, int]]:
        for i, c in enumerate(self.counts):
            if c:
                yield i, c


class SparseHistogram(_Base):
    """The same buckets, holding only those hit: for short windows of few values."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def record(self, value: float) -> None:
        if not math.isfinite(value):
            return
        i = bucket_of(value)
        self.counts[i] = self.counts.get(i, 0) + 1
        self.n += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def _items(self) -> Iterator[tuple[int, int]]:
        for i in sorted(self.counts):
            yield i, self.counts[i]
