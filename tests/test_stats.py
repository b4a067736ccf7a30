"""Wilson bounds, cases to decide, bootstrap intervals and paired tests."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq  # type: ignore[import-untyped]
from scipy.stats import binomtest, norm  # type: ignore[import-untyped]

from cujeval.core.stats import (
    bootstrap_interval,
    cases_to_decide,
    mcnemar_exact,
    paired_bootstrap_diff,
    statistic_value,
    wilson_bounds,
)

# -- Wilson -----------------------------------------------------------------------------------


def _wilson_by_root_finding(good: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson interval as the p solving (p̂ − p)² = z²·p(1 − p)/n on each side of p̂."""
    p_hat = good / n

    def f(p: float) -> float:
        return (p_hat - p) ** 2 - z * z * p * (1 - p) / n

    lower = 0.0 if good == 0 else brentq(f, 0.0, min(p_hat, 1 - 1e-12), xtol=1e-15)
    upper = 1.0 if good == n else brentq(f, max(p_hat, 1e-12), 1.0, xtol=1e-15)
    return lower, upper


@pytest.mark.parametrize(
    ("good", "n", "confidence", "one_sided"),
    [
        (0, 10, 0.95, True),
        (1, 10, 0.95, False),
        (81, 263, 0.95, False),
        (95, 100, 0.95, True),
        (999, 1000, 0.99, True),
        (50, 50, 0.9, False),
        (7, 1_000_000, 0.95, True),
    ],
)
def test_wilson_matches_an_independent_computation(
    good: int, n: int, confidence: float, one_sided: bool
) -> None:
    z = norm.ppf(confidence if one_sided else 1 - (1 - confidence) / 2)
    expected = _wilson_by_root_finding(good, n, z)
    got = wilson_bounds(good, n, confidence, one_sided=one_sided)
    assert got == pytest.approx(expected, abs=1e-10)


def test_wilson_known_two_sided_value() -> None:
    lower, upper = wilson_bounds(81, 263, 0.95, one_sided=False)
    assert (round(lower, 4), round(upper, 4)) == (0.2553, 0.3662)


def test_design_check_target_95_n_100() -> None:
    for good in range(92):
        assert wilson_bounds(good, 100, 0.95)[1] < 0.95, good
    for good in (99, 100):
        assert wilson_bounds(good, 100, 0.95)[0] >= 0.95, good
    for good in range(92, 99):
        lower, upper = wilson_bounds(good, 100, 0.95)
        assert lower < 0.95 <= upper, good


def test_wilson_no_cases_knows_nothing() -> None:
    assert wilson_bounds(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("good", "n", "confidence"),
    [(5, 4, 0.95), (-1, 4, 0.95), (1, -1, 0.95), (1, 4, 1.0), (1, 4, 0)],
)
def test_wilson_rejects_bad_input(good: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_bounds(good, n, confidence)


confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 5000))
    return draw(st.integers(0, n)), n


@given(counts(), confidences, st.booleans())
def test_wilson_brackets_the_estimate(gn: tuple[int, int], c: float, one_sided: bool) -> None:
    good, n = gn
    lower, upper = wilson_bounds(good, n, c, one_sided=one_sided)
    assert 0.0 <= lower <= good / n <= upper <= 1.0


@given(counts(), confidences)
def test_wilson_monotone_in_good(gn: tuple[int, int], c: float) -> None:
    good, n = gn
    if good < n:
        lo1, hi1 = wilson_bounds(good, n, c)
        lo2, hi2 = wilson_bounds(good + 1, n, c)
        assert lo2 > lo1 and hi2 > hi1


@given(counts(), confidences, st.integers(2, 10))
def test_wilson_narrows_with_n(gn: tuple[int, int], c: float, factor: int) -> None:
    good, n = gn
    lo1, hi1 = wilson_bounds(good, n, c)
    lo2, hi2 = wilson_bounds(good * factor, n * factor, c)
    assert hi2 - lo2 < hi1 - lo1


@given(counts(), confidences)
def test_two_sided_is_wider(gn: tuple[int, int], c: float) -> None:
    lo1, hi1 = wilson_bounds(*gn, c, one_sided=True)
    lo2, hi2 = wilson_bounds(*gn, c, one_sided=False)
    assert lo2 <= lo1 and hi2 >= hi1


# -- cases to decide --------------------------------------------------------------------------


def _decides(good: int, n: int, m: int, target: float, c: float) -> bool:
    """The documented rule, computed independently with exact rational rounding."""
    p = Fraction(good, n)
    extra = math.ceil(p * m) if p > Fraction(target) else math.floor(p * m)
    lower, upper = wilson_bounds(good + extra, n + m, c)
    return lower >= target or upper < target


@pytest.mark.parametrize("good", [92, 93, 94, 96, 97, 98])
def test_cases_to_decide_is_the_smallest_deciding_count(good: int) -> None:
    m = cases_to_decide(good, 100, 0.95, 0.95)
    assert m is not None and m > 0
    assert _decides(good, 100, m, 0.95, 0.95)
    assert not any(_decides(good, 100, k, 0.95, 0.95) for k in range(1, m))


def test_cases_to_decide_edges() -> None:
    assert cases_to_decide(91, 100, 0.95, 0.95) == 0  # already BREACHED
    assert cases_to_decide(99, 100, 0.95, 0.95) == 0  # already MET
    assert cases_to_decide(95, 100, 0.95, 0.95) is None  # estimate equals the target
    assert cases_to_decide(0, 0, 0.95, 0.95) is None
    assert cases_to_decide(95_001, 100_000, 0.95, 0.95) is None  # needs more than 10**7
    with pytest.raises(ValueError):
        cases_to_decide(5, 10, 1.5, 0.95)


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 400), st.floats(0.5, 0.99), st.sampled_from([0.9, 0.95]))
def test_cases_to_decide_decides(n: int, target: float, c: float) -> None:
    for good in range(max(0, int(target * n) - 3), min(n, int(target * n) + 4) + 1):
        m = cases_to_decide(good, n, target, c)
        if m is not None:
            assert m == 0 or _decides(good, n, m, target, c)
            if m > 0:
                assert not _decides(good, n, m - 1, target, c)


# -- statistics and bootstrap -----------------------------------------------------------------

SAMPLE = np.random.default_rng(3).lognormal(mean=-1.0, sigma=0.6, size=500)


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [
        ("mean", np.mean(SAMPLE)),
        ("median", np.median(SAMPLE)),
        ("p50", np.percentile(SAMPLE, 50)),
        ("p90", np.percentile(SAMPLE, 90)),
        ("p95", np.percentile(SAMPLE, 95)),
        ("p99", np.percentile(SAMPLE, 99)),
        ("p99.9", np.percentile(SAMPLE, 99.9)),
        ("max", np.max(SAMPLE)),
        ("min", np.min(SAMPLE)),
    ],
)
def test_statistic_value(statistic: str, expected: float) -> None:
    assert statistic_value(SAMPLE, statistic) == pytest.approx(expected, rel=1e-12)


def test_percentiles_interpolate_linearly() -> None:
    assert statistic_value([1.0, 2.0, 3.0, 4.0], "p90") == pytest.approx(3.7)


@pytest.mark.parametrize("statistic", ["average", "p101", "p-5", "P95", ""])
def test_unknown_statistic(statistic: str) -> None:
    with pytest.raises(ValueError, match="unknown statistic"):
        statistic_value([1.0], statistic)
    with pytest.raises(ValueError, match="unknown statistic"):
        bootstrap_interval([1.0, 2.0], statistic)


@pytest.mark.parametrize("statistic", ["mean", "median", "p90", "p95", "max", "min"])
def test_bootstrap_contains_the_sample_statistic(statistic: str) -> None:
    lower, upper = bootstrap_interval(SAMPLE, statistic)
    assert lower <= statistic_value(SAMPLE, statistic) <= upper
    assert lower < upper


def test_bootstrap_of_the_mean_has_the_normal_width() -> None:
    """For n = 500 the percentile bootstrap of a mean is close to x̄ ± z·s/√n."""
    lower, upper = bootstrap_interval(SAMPLE, "mean", 0.95, n_resamples=4000, one_sided=False)
    half = 1.959964 * SAMPLE.std(ddof=1) / math.sqrt(SAMPLE.size)
    assert (upper - lower) / 2 == pytest.approx(half, rel=0.1)
    assert (lower + upper) / 2 == pytest.approx(SAMPLE.mean(), abs=0.15 * half)


def test_bootstrap_is_deterministic_per_seed() -> None:
    assert bootstrap_interval(SAMPLE, "p95", seed=1) == bootstrap_interval(SAMPLE, "p95", seed=1)
    assert bootstrap_interval(SAMPLE, "p95", seed=1) != bootstrap_interval(SAMPLE, "p95", seed=2)


def test_bootstrap_two_sided_is_wider() -> None:
    lo1, hi1 = bootstrap_interval(SAMPLE, "mean", one_sided=True)
    lo2, hi2 = bootstrap_interval(SAMPLE, "mean", one_sided=False)
    assert lo2 < lo1 and hi2 > hi1


def test_bootstrap_in_several_chunks() -> None:
    """10,000 values × 2,000 resamples exceeds one chunk; the interval is still sound."""
    values = np.random.default_rng(5).normal(10.0, 2.0, size=10_000)
    lower, upper = bootstrap_interval(values, "mean")
    assert lower < values.mean() < upper
    assert upper - lower == pytest.approx(2 * 1.645 * 2.0 / 100, rel=0.15)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 50), st.sampled_from(["mean", "p95"]))
def test_bootstrap_of_constant_data_is_a_point(value: float, n: int, statistic: str) -> None:
    lower, upper = bootstrap_interval([value] * n, statistic, n_resamples=200)
    assert lower == upper == pytest.approx(value)


def test_bootstrap_edges() -> None:
    assert bootstrap_interval([4.2], "p99") == (4.2, 4.2)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_interval([], "mean")
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_interval([1.0, float("nan")], "mean")
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_interval([1.0, 2.0], "mean", n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval([1.0, 2.0], "mean", 1.0)


@settings(deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=60),
    st.sampled_from(["mean", "median", "p90", "min", "max"]),
)
def test_bootstrap_bounds_lie_within_the_data(values: list[float], statistic: str) -> None:
    lower, upper = bootstrap_interval(values, statistic, n_resamples=300)
    assert min(values) - 1e-9 <= lower <= upper <= max(values) + 1e-9


# -- paired comparison ------------------------------------------------------------------------


def test_paired_diff_of_identical_runs_is_zero() -> None:
    assert paired_bootstrap_diff(SAMPLE, SAMPLE) == (0.0, 0.0)


def test_paired_diff_of_a_shift() -> None:
    lower, upper = paired_bootstrap_diff(SAMPLE + 0.25, SAMPLE, "p90")
    assert lower == pytest.approx(0.25) and upper == pytest.approx(0.25)


def test_pairing_removes_the_case_to_case_spread() -> None:
    rng = np.random.default_rng(11)
    base_run = rng.normal(0.7, 0.2, size=300)
    candidate = base_run + 0.02 + rng.normal(0.0, 0.01, size=300)
    lower, upper = paired_bootstrap_diff(candidate, base_run, one_sided=False)
    assert 0.0 < lower < 0.02 < upper
    unpaired_half = 1.96 * math.sqrt(2 * 0.2**2 / 300)
    assert upper - lower < 0.2 * unpaired_half


def test_paired_diff_edges() -> None:
    assert paired_bootstrap_diff([3.0], [1.0]) == (2.0, 2.0)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_diff([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("b", "c"), [(0, 1), (1, 1), (10, 0), (3, 7), (7, 3), (40, 60), (500, 560), (2000, 2150)]
)
def test_mcnemar_matches_the_exact_binomial_test(b: int, c: int) -> None:
    expected = binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_edges() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(12, 3) == mcnemar_exact(3, 12)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)
