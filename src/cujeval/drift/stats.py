"""The statistics behind drift: two-sample tests on embeddings, share tables, paired tests.

Pure functions of arrays and counts (numpy, and scipy for distributions and exact tests). The
permutation p-values are exact at any sample size; the others say what they approximate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Counts = Sequence[float] | NDArray[Any]  # bin counts

# Permutation batches: B x N indicator matrices are built this many permutations at a time.
_BATCH = 128


@dataclass(frozen=True)
class MMDTest:
    """Maximum mean discrepancy (unbiased MMD²) with an RBF kernel and a permutation p-value."""

    statistic: float
    p_value: float
    bandwidth: float
    permutations: int
    exact: bool  # every split of the pooled sample enumerated


@dataclass(frozen=True)
class ClassifierTest:
    """Classifier two-sample test: cross-validated AUC of telling current from reference."""

    auc: float
    lower: float
    upper: float
    p_value: float
    folds: int


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float


# ---------------------------------------------------------------------------- share tables


def shares(counts: Counts, *, pseudo_count: float = 0.0) -> Array:
    """Shares s_i = (n_i + a) / (Σ n + k·a) of k bins with a pseudo-count a per bin."""
    c = np.asarray(counts, dtype=np.float64) + pseudo_count
    total = c.sum()
    if total <= 0:
        raise ValueError("no counts")
    out: Array = c / total
    return out


def psi(
    reference_counts: Counts,
    current_counts: Counts,
    *,
    pseudo_count: float = 0.5,
) -> float:
    """Population stability index of two binnings of the same bins:
    PSI = Σ_i (c_i − r_i) · ln(c_i / r_i), with r_i, c_i the shares after adding
    ``pseudo_count`` to every bin (so an empty bin stays finite). PSI ≥ 0, symmetric; by the
    usual rule of thumb < 0.1 is stable, 0.1-0.25 a moderate shift, > 0.25 a large one."""
    if len(reference_counts) != len(current_counts):
        raise ValueError("both binnings need the same bins")
    r = shares(reference_counts, pseudo_count=pseudo_count)
    c = shares(current_counts, pseudo_count=pseudo_count)
    if np.any((r == 0) ^ (c == 0)):
        return math.inf
    both = (r > 0) & (c > 0)
    return float(np.sum((c[both] - r[both]) * np.log(c[both] / r[both])))


def psi_level(value: float) -> str:
    """The rule-of-thumb reading of a PSI value."""
    if value < 0.1:
        return "stable"
    if value < 0.25:
        return "moderate"
    return "large"


def chi_square(table: Sequence[Counts] | NDArray[Any]) -> ChiSquare:
    """Pearson's chi-square test of homogeneity of a samples x bins table (no continuity
    correction): X² = Σ (O − E)² / E with E = row total x column total / N, on
    (rows − 1)(columns − 1) degrees of freedom; empty columns are dropped first. With fewer
    than two non-empty bins there is nothing to compare: X² = 0, p = 1."""
    from scipy.stats import chi2  # type: ignore[import-untyped]

    t = np.asarray(table, dtype=np.float64)
    t = t[:, t.sum(axis=0) > 0]
    t = t[t.sum(axis=1) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return ChiSquare(0.0, 0, 1.0)
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()
    stat = float(np.sum((t - expected) ** 2 / expected))
    dof = (t.shape[0] - 1) * (t.shape[1] - 1)
    return ChiSquare(stat, dof, float(chi2.sf(stat, dof)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values: sort p_(1) ≤ … ≤ p_(m); adjusted p_(i) =
    max_{j ≤ i} min(1, (m − j + 1)·p_(j)). Rejecting adjusted p < α keeps the chance of any
    false alarm among the m tests ≤ α, whatever their dependence."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


# ---------------------------------------------------------------------------- MMD


def _median_bandwidth(sq: Array) -> float:
    """σ = the median pairwise distance of the pooled sample (the median heuristic)."""
    iu = np.triu_indices(sq.shape[0], k=1)
    med = float(np.median(sq[iu])) if iu[0].size else 0.0
    return math.sqrt(med) if med > 0 else 1.0


def _sq_distances(z: Array) -> Array:
    norms = np.sum(z * z, axis=1)
    sq = norms[:, None] + norms[None, :] - 2.0 * (z @ z.T)
    out: Array = np.maximum(sq, 0.0)
    np.fill_diagonal(out, 0.0)
    return out


def _mmd_batch(kernel: Array, rowsum: Array, total: float, masks: Array, m: int) -> Array:
    """Unbiased MMD² for each row of ``masks`` (1 = the point is in the first sample):
    MMD²_u = (S_xx − m)/(m(m−1)) + (S_yy − n)/(n(n−1)) − 2·S_xy/(m·n), k(x, x) = 1."""
    n = kernel.shape[0] - m
    s_xx = np.sum((masks @ kernel) * masks, axis=1)
    s_x = masks @ rowsum
    s_xy = s_x - s_xx
    s_yy = total - s_xx - 2.0 * s_xy
    out: Array = (s_xx - m) / (m * (m - 1)) + (s_yy - n) / (n * (n - 1)) - 2.0 * s_xy / (m * n)
    return out


def mmd_test(
    x: Array,
    y: Array,
    *,
    permutations: int = 1000,
    seed: int = 0,
    bandwidth: float | None = None,
) -> MMDTest:
    """Two-sample test of "x and y come from one distribution" by the unbiased MMD² with the
    kernel k(a, b) = exp(−‖a − b‖² / (2σ²)), σ by the median heuristic unless given.

    The p-value is (1 + #{permuted MMD² ≥ observed}) / (1 + B) over B random relabellings of
    the pooled sample, or, when there are at most B distinct splits, the exact share of all
    splits with MMD² ≥ observed (the observed split included). Both are valid at any size."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("each sample needs at least 2 points")
    z = np.vstack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
    sq = _sq_distances(z)
    sigma = bandwidth if bandwidth is not None else _median_bandwidth(sq)
    kernel = np.exp(-sq / (2.0 * sigma * sigma))
    rowsum = kernel.sum(axis=1)
    total = float(rowsum.sum())
    size = m + n
    observed_mask = np.zeros((1, size))
    observed_mask[0, :m] = 1.0
    observed = float(_mmd_batch(kernel, rowsum, total, observed_mask, m)[0])
    tol = 1e-12 * max(1.0, abs(observed))

    if math.comb(size, m) <= permutations:
        hits = 0
        count = 0
        combos = itertools.combinations(range(size), m)
        while True:
            chunk = list(itertools.islice(combos, _BATCH))
            if not chunk:
                break
            masks = np.zeros((len(chunk), size))
            for row, idx in enumerate(chunk):
                masks[row, list(idx)] = 1.0
            stats = _mmd_batch(kernel, rowsum, total, masks, m)
            hits += int(np.sum(stats >= observed - tol))
            count += len(chunk)
        return MMDTest(observed, hits / count, sigma, count, True)

    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < permutations:
        b = min(_BATCH, permutations - done)
        order = np.argsort(rng.random((b, size)), axis=1)
        masks = np.zeros((b, size))
        np.put_along_axis(masks, order[:, :m], 1.0, axis=1)
        stats = _mmd_batch(kernel, rowsum, total, masks, m)
        hits += int(np.sum(stats >= observed - tol))
        done += b
    return MMDTest(observed, (1 + hits) / (1 + permutations), sigma, permutations, False)


# ---------------------------------------------------------------------------- AUC


def auc_delong(
    positive: Array, negative: Array, confidence: float = 0.95
) -> tuple[float, float, float]:
    """AUC = P(score of a positive > score of a negative) + ½·P(tie), with DeLong's variance
    Var = S₁₀/m + S₀₁/n (S₁₀, S₀₁ the variances of the per-positive and per-negative
    placement values) and a two-sided normal interval clipped to [0, 1]."""
    from scipy.stats import norm

    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    m, n = len(pos), len(neg)
    psi_ = (pos[:, None] > neg[None, :]).astype(np.float64) + 0.5 * (pos[:, None] == neg[None, :])
    v10 = psi_.mean(axis=1)
    v01 = psi_.mean(axis=0)
    auc = float(v10.mean())
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    half = float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(max(float(var), 0.0))
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def _row_auc(scores: Array, labels: Array) -> Array:
    """AUC of each row of ``scores`` against the 0/1 ``labels`` of the same row, by ranks:
    AUC = (Σ ranks of positives − m(m+1)/2) / (m·n), ties at their mid-rank."""
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    ranks = rankdata(scores, axis=1)
    m = labels[0].sum()
    n = labels.shape[1] - m
    out: Array = (np.sum(ranks * labels, axis=1) - m * (m + 1) / 2) / (m * n)
    return out


def classifier_test(
    x: Array,
    y: Array,
    *,
    folds: int = 5,
    permutations: int = 1000,
    ridge: float = 10.0,
    seed: int = 0,
    confidence: float = 0.95,
) -> ClassifierTest:
    """Classifier two-sample test: a regularised least-squares linear classifier learns to tell
    y (current, label 1) from x (reference, label 0) in k folds; AUC of its out-of-fold scores,
    with DeLong's interval (approximate: the folds' models differ).

    The classifier is kernel ridge regression on the labels with the linear kernel
    K = Z·Zᵀ + 1: out-of-fold scores f_te = (y_tr − ȳ_tr) · (K_tr,tr + λI)⁻¹ · K_tr,te are
    linear in the labels, so each of B label permutations costs a matrix product, not a refit.
    p = (1 + #{permuted AUC ≥ AUC}) / (1 + B), with the same (label-free) folds: exact."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    k = min(folds, len(xa) + len(ya))
    if len(xa) < 2 or len(ya) < 2:
        raise ValueError("each sample needs at least 2 points")
    z = np.vstack([xa, ya])
    size = len(z)
    gram = z @ z.T + 1.0
    rng = np.random.default_rng(seed)
    fold = rng.permutation(size) % k
    labels = np.r_[np.zeros(len(xa)), np.ones(len(ya))]
    scores = np.zeros(size)
    hits = 0
    done = 0
    observed: float | None = None
    while observed is None or done < permutations:
        b = 0 if observed is None else min(_BATCH, permutations - done)
        rows = [labels] if observed is None else []
        rows += [rng.permutation(labels) for _ in range(b)]
        ys = np.vstack(rows)
        preds = np.zeros_like(ys)
        for f in range(k):
            te = fold == f
            tr = ~te
            solve = np.linalg.solve(
                gram[np.ix_(tr, tr)] + ridge * np.eye(int(tr.sum())), gram[np.ix_(tr, te)]
            )
            ytr = ys[:, tr]
            preds[:, te] = (ytr - ytr.mean(axis=1, keepdims=True)) @ solve
        aucs = _row_auc(preds, ys)
        if observed is None:
            observed = float(aucs[0])
            scores = preds[0]
        else:
            hits += int(np.sum(aucs >= observed - 1e-12))
            done += b
    auc, lower, upper = auc_delong(scores[labels == 1], scores[labels == 0], confidence)
    return ClassifierTest(auc, lower, upper, (1 + hits) / (1 + permutations), k)


def chi_square_permutation(
    reference_bins: Sequence[int],
    current_bins: Sequence[int],
    *,
    permutations: int = 1000,
    seed: int = 0,
) -> ChiSquare:
    """Chi-square test of homogeneity of two samples' bin labels (integers) with a Monte-Carlo
    permutation p-value: the share of B relabellings of the pooled labels whose X² reaches the
    observed one, (1 + hits)/(1 + B). Exact at small expected counts, where the asymptotic
    chi-square distribution is not."""
    ref = np.asarray(reference_bins, dtype=np.int64)
    cur = np.asarray(current_bins, dtype=np.int64)
    pooled = np.r_[ref, cur]
    _, codes = np.unique(pooled, return_inverse=True)
    k = int(codes.max()) + 1 if len(codes) else 0
    observed = chi_square(
        [np.bincount(codes[: len(ref)], minlength=k), np.bincount(codes[len(ref) :], minlength=k)]
    )
    if observed.dof == 0:
        return observed
    m = len(ref)
    totals = np.bincount(codes, minlength=k).astype(np.float64)
    n_all = float(len(codes))
    expected_ref = totals * m / n_all
    expected_cur = totals * (n_all - m) / n_all
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < permutations:
        b = min(_BATCH, permutations - done)
        perm = np.argsort(rng.random((b, len(codes))), axis=1)[:, :m]
        onehot_ref = np.zeros((b, k))
        np.add.at(onehot_ref, (np.repeat(np.arange(b), m), codes[perm].ravel()), 1.0)
        onehot_cur = totals[None, :] - onehot_ref
        stat = np.sum((onehot_ref - expected_ref) ** 2 / expected_ref, axis=1) + np.sum(
            (onehot_cur - expected_cur) ** 2 / expected_cur, axis=1
        )
        hits += int(np.sum(stat >= observed.statistic - 1e-9))
        done += b
    return ChiSquare(observed.statistic, observed.dof, (1 + hits) / (1 + permutations))


# ---------------------------------------------------------------------------- other tests


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test; returns (P(b > a) + ½·P(tie), p). Identical samples or a
    constant pooled sample give p = 1."""
    from scipy.stats import mannwhitneyu

    aa = np.asarray(a, dtype=np.float64)
    bb = np.asarray(b, dtype=np.float64)
    if len(aa) == 0 or len(bb) == 0:
        return 0.5, 1.0
    if np.all(np.r_[aa, bb] == aa[0]):
        return 0.5, 1.0
    res = mannwhitneyu(bb, aa, alternative="two-sided")
    return float(res.statistic) / (len(aa) * len(bb)), float(res.pvalue)


def fisher_greater(
    current_hits: int, current_n: int, reference_hits: int, reference_n: int
) -> float:
    """One-sided Fisher exact p-value that the current share of hits exceeds the reference's."""
    from scipy.stats import fisher_exact

    table = [
        [current_hits, current_n - current_hits],
        [reference_hits, reference_n - reference_hits],
    ]
    return float(fisher_exact(table, alternative="greater").pvalue)


def wilcoxon_paired(before: Sequence[float], after: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (zero differences
    dropped); 1.0 when every pair is equal."""
    from scipy.stats import wilcoxon

    d = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    return float(wilcoxon(d).pvalue)


def mcnemar_exact(before: Sequence[bool], after: Sequence[bool]) -> float:
    """Exact McNemar test of paired booleans: binomial test of b (false → true) among the
    b + c discordant pairs at ½, two-sided; 1.0 with no discordant pair."""
    from scipy.stats import binomtest

    b = sum(1 for x, y in zip(before, after, strict=True) if not x and y)
    c = sum(1 for x, y in zip(before, after, strict=True) if x and not y)
    if b + c == 0:
        return 1.0
    return float(binomtest(b, b + c, 0.5).pvalue)


def paired_shift_test(
    a: Array, b: Array, *, permutations: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Paired test that the mean of b − a is zero in every direction: T = ‖mean_i(b_i − a_i)‖²,
    p = (1 + #{T under random sign flips of the pairs ≥ T}) / (1 + B). Valid when, without
    drift, each pair's two members are exchangeable (the same case answered twice)."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    n = len(d)
    if n == 0:
        return 0.0, 1.0
    observed = float(np.sum(d.mean(axis=0) ** 2))
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    tol = 1e-12 * max(1.0, observed)
    while done < permutations:
        size = min(_BATCH, permutations - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        means = signs @ d / n
        hits += int(np.sum(np.sum(means**2, axis=1) >= observed - tol))
        done += size
    return observed, (1 + hits) / (1 + permutations)


def as_float(value: Any) -> float | None:
    """A finite float or None (for JSON)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
