"""Drift statistics against values worked by hand, and their invariants (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cujeval.drift import stats

# -- PSI ----------------------------------------------------------------------------------------


def test_psi_by_hand() -> None:
    # shares (.5, .5) -> (.25, .75): (.25 − .5)·ln(.25/.5) + (.75 − .5)·ln(.75/.5)
    #   = .25·ln 2 + .25·ln 1.5 = .173287 + .101366 = .274653
    assert stats.psi([50, 50], [25, 75], pseudo_count=0) == pytest.approx(0.274653, abs=1e-6)
    assert stats.psi_level(0.274653) == "large"


def test_psi_pseudo_count_keeps_an_empty_bin_finite() -> None:
    # counts (10, 0) and (5, 5) with ½ added to each bin: r = (10.5, .5)/11, c = (5.5, 5.5)/11
    #   (.5 − .954545)·ln(.5/.954545) + (.5 − .045455)·ln(.5/.045455)
    #   = .454545·.646627 + .454545·2.397895 = .293921 + 1.089952 = 1.383873
    assert stats.psi([10, 0], [5, 5]) == pytest.approx(1.383873, abs=1e-6)
    assert math.isinf(stats.psi([10, 0], [5, 5], pseudo_count=0))


def test_psi_levels() -> None:
    assert stats.psi_level(0.05) == "stable"
    assert stats.psi_level(0.1) == "moderate"
    assert stats.psi_level(0.25) == "large"


counts_pair = st.integers(min_value=2, max_value=8).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(1, 500), min_size=k, max_size=k),
        st.lists(st.integers(1, 500), min_size=k, max_size=k),
    )
)


@given(counts_pair)
def test_psi_is_a_symmetric_divergence(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    for pseudo in (0.0, 0.5):
        value = stats.psi(a, b, pseudo_count=pseudo)
        assert value >= 0
        assert value == pytest.approx(stats.psi(b, a, pseudo_count=pseudo), rel=1e-9, abs=1e-12)
    assert stats.psi(a, a) == pytest.approx(0.0, abs=1e-12)
    # the same shares at another sample size: no shift
    assert stats.psi(a, [3 * x for x in a], pseudo_count=0) == pytest.approx(0.0, abs=1e-12)


@given(counts_pair)
def test_psi_is_jeffreys_divergence(pair: tuple[list[int], list[int]]) -> None:
    """PSI = KL(c‖r) + KL(r‖c) of the shares."""
    a, b = pair
    r = np.asarray(a, dtype=float) / sum(a)
    c = np.asarray(b, dtype=float) / sum(b)
    jeffreys = float(np.sum(c * np.log(c / r)) + np.sum(r * np.log(r / c)))
    assert stats.psi(a, b, pseudo_count=0) == pytest.approx(jeffreys, rel=1e-9, abs=1e-12)


# -- chi-square ----------------------------------------------------------------------------------


def test_chi_square_2x2_by_hand() -> None:
    # every expected count is 15: X² = 4 · 5²/15 = 6.667 on 1 df; p = erfc(√(6.667/2)) = .00982
    res = stats.chi_square([[10, 20], [20, 10]])
    assert res.statistic == pytest.approx(20 / 3)
    assert res.dof == 1
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(10 / 3)), rel=1e-9)
    assert res.p_value == pytest.approx(0.009823, abs=1e-6)


def test_chi_square_2x3_by_hand() -> None:
    # every expected count is 10: X² = (25 + 0 + 25 + 25 + 0 + 25)/10 = 10 on 2 df;
    # the chi-square survival function on 2 df is e^(−x/2): p = e^−5
    res = stats.chi_square([[5, 10, 15], [15, 10, 5]])
    assert res.statistic == pytest.approx(10.0)
    assert res.dof == 2
    assert res.p_value == pytest.approx(math.exp(-5))


def test_chi_square_drops_empty_bins_and_needs_two() -> None:
    assert stats.chi_square([[5, 0, 15], [15, 0, 5]]).dof == 1
    assert stats.chi_square([[5, 0], [7, 0]]) == stats.ChiSquare(0.0, 0, 1.0)


@given(counts_pair)
def test_chi_square_bounds(pair: tuple[list[int], list[int]]) -> None:
    res = stats.chi_square([pair[0], pair[1]])
    assert res.statistic >= 0 and 0 <= res.p_value <= 1
    same = stats.chi_square([pair[0], [2 * x for x in pair[0]]])
    assert same.statistic == pytest.approx(0.0, abs=1e-9) and same.p_value == pytest.approx(1.0)


def test_chi_square_permutation_agrees_with_the_asymptotic_test_on_large_counts() -> None:
    ref = [0] * 100 + [1] * 200
    cur = [0] * 200 + [1] * 100
    res = stats.chi_square_permutation(ref, cur, permutations=999, seed=1)
    assert res.statistic == pytest.approx(stats.chi_square([[100, 200], [200, 100]]).statistic)
    assert res.p_value == pytest.approx(1 / 1000)  # X² = 66.7: no relabelling reaches it
    same = stats.chi_square_permutation([0, 1, 2] * 30, [0, 1, 2] * 30, permutations=199)
    assert same.statistic == 0 and same.p_value == 1.0


def test_chi_square_permutation_is_calibrated_under_no_shift() -> None:
    rng = np.random.default_rng(0)
    probs = [0.5, 0.3, 0.1, 0.06, 0.04]  # sparse bins: where the asymptotic test is off
    p = [
        stats.chi_square_permutation(
            rng.choice(5, 40, p=probs), rng.choice(5, 50, p=probs), permutations=199, seed=i
        ).p_value
        for i in range(300)
    ]
    rate = float(np.mean(np.asarray(p) < 0.05))
    assert 0.02 <= rate <= 0.09  # 5 % ± 3 standard errors of 300 draws


# -- Holm ----------------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    # sorted .01, .03, .04 -> 3·.01 = .03, 2·.03 = .06, max(.06, 1·.04) = .06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    # 2·.04 = .08, then max(.08, 1·.5) = .5; and 2·.8 caps at 1
    assert stats.holm([0.04, 0.5]) == pytest.approx([0.08, 0.5])
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_invariants(p: list[float]) -> None:
    adj = stats.holm(p)
    assert all(a >= x - 1e-15 and a <= 1 for a, x in zip(adj, p, strict=True))
    for i in range(len(p)):
        for j in range(len(p)):
            if p[i] <= p[j]:
                assert adj[i] <= adj[j] + 1e-15
    assert min(adj) == pytest.approx(min(1.0, len(p) * min(p)))


# -- MMD -----------------------------------------------------------------------------------------


def test_mmd_toy_case_enumerates_every_split() -> None:
    # three points at 0 and three at 1, σ = 1: k(0, 1) = e^(−½) = .606531; within-sample
    # terms are 1, so MMD²_u = 1 + 1 − 2·.606531 = .786939. Of the C(6, 3) = 20 splits only
    # the observed one and its mirror reach it: p = 2/20.
    x = np.zeros((3, 1))
    y = np.ones((3, 1))
    res = stats.mmd_test(x, y, bandwidth=1.0, permutations=1000)
    assert res.exact and res.permutations == 20
    assert res.statistic == pytest.approx(2 - 2 * math.exp(-0.5))
    assert res.p_value == pytest.approx(0.1)


def test_mmd_separated_samples_reach_the_smallest_p_value() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (30, 4))
    y = rng.normal(3, 1, (30, 4))
    res = stats.mmd_test(x, y, permutations=499, seed=0)
    assert not res.exact
    assert res.p_value == pytest.approx(1 / 500)


def test_mmd_is_calibrated_under_no_shift() -> None:
    rng = np.random.default_rng(1)
    p = [
        stats.mmd_test(
            rng.normal(size=(15, 3)), rng.normal(size=(20, 3)), permutations=199, seed=i
        ).p_value
        for i in range(300)
    ]
    assert 0.02 <= float(np.mean(np.asarray(p) < 0.05)) <= 0.09
    assert min(p) >= 1 / 200 and max(p) <= 1


def test_mmd_needs_two_points_a_side() -> None:
    with pytest.raises(ValueError):
        stats.mmd_test(np.zeros((1, 2)), np.zeros((5, 2)))


# -- classifier two-sample test -------------------------------------------------------------------


def test_auc_delong_by_hand() -> None:
    # pairs: .9>.7, .9>.8, .8>.7, .8=.8 (½): AUC = 3.5/4. Placements V10 = V01 = (1, .75),
    # variance (.125² · 2)/1 = .03125 each; Var = .03125/2 + .03125/2; half-width 1.96·.1768
    auc, lower, upper = stats.auc_delong(np.array([0.9, 0.8]), np.array([0.7, 0.8]))
    assert auc == pytest.approx(0.875)
    assert lower == pytest.approx(0.875 - 1.959964 * math.sqrt(0.03125), abs=1e-5)
    assert upper == 1.0


def test_classifier_test_tells_separated_samples_apart() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (40, 5))
    y = rng.normal(0, 1, (40, 5)) + np.array([2.0, 0, 0, 0, 0])
    res = stats.classifier_test(x, y, permutations=199, seed=0)
    assert res.auc > 0.9 and res.lower <= res.auc <= res.upper
    assert res.p_value == pytest.approx(1 / 200)


def test_classifier_test_is_calibrated_under_no_shift() -> None:
    rng = np.random.default_rng(2)
    p = [
        stats.classifier_test(
            rng.normal(size=(20, 4)), rng.normal(size=(25, 4)), permutations=99, seed=i
        ).p_value
        for i in range(200)
    ]
    assert 0.01 <= float(np.mean(np.asarray(p) < 0.05)) <= 0.10


# -- the other tests -----------------------------------------------------------------------------


def test_fisher_greater_by_hand() -> None:
    # 5 hits of 20 in all, 10 current: P(all five fall in current) = C(15, 5)/C(20, 10)
    assert stats.fisher_greater(5, 10, 0, 10) == pytest.approx(3003 / 184756)
    assert stats.fisher_greater(0, 10, 5, 10) == pytest.approx(1.0)


def test_mann_whitney_by_hand() -> None:
    # b above a in all 9 pairs; exact two-sided p = 2 / C(6, 3) = .1
    share, p = stats.mann_whitney([1, 2, 3], [4, 5, 6])
    assert share == 1.0
    assert p == pytest.approx(0.1)
    assert stats.mann_whitney([3, 3, 3], [3, 3]) == (0.5, 1.0)


def test_paired_tests_by_hand() -> None:
    # 8 cases start refusing, none stops: two-sided binomial 2·½⁸
    assert stats.mcnemar_exact([False] * 10, [True] * 8 + [False] * 2) == pytest.approx(2 / 256)
    assert stats.mcnemar_exact([True, False], [True, False]) == 1.0
    assert stats.wilcoxon_paired([1, 2, 3], [1, 2, 3]) == 1.0
    # all 8 differences positive, exact two-sided p = 2 / 2⁸
    assert stats.wilcoxon_paired([0] * 8, [1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(2 / 256)


def test_paired_shift_test() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 3))
    stat, p = stats.paired_shift_test(a, a.copy(), permutations=199)
    assert stat == 0 and p == 1.0
    # the same step in every pair: only the all-same-sign flips reach it (2 of 4096)
    stat, p = stats.paired_shift_test(a, a + np.array([0.5, 0, 0]), permutations=999, seed=0)
    assert stat == pytest.approx(0.25)
    assert p < 0.01


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 10_000))
def test_permutation_p_values_are_probabilities(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, 2)), rng.normal(size=(n, 2))
    res = stats.mmd_test(x, y, permutations=99, seed=seed)
    assert 0 < res.p_value <= 1
    if res.exact:  # every split counted once: p is a multiple of 1/C(m+n, m)
        assert res.permutations == math.comb(m + n, m)
        assert (res.p_value * res.permutations) == pytest.approx(
            round(res.p_value * res.permutations)
        )
