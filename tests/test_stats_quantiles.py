"""Order-statistic bounds for quantiles: coverage on simulated data and agreement with the
bootstrap they replace for large samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cujeval.core.stats import (
    aggregate_interval,
    bootstrap_interval,
    quantile_interval,
    quantile_of,
)


def test_quantile_of() -> None:
    assert quantile_of("p95") == 0.95 and quantile_of("median") == 0.5
    assert quantile_of("p99.9") == pytest.approx(0.999) and quantile_of("mean") is None


def test_one_sided_coverage_on_uniform_data() -> None:
    """True p95 of U(0, 1) is 0.95: the one-sided 95 % lower bound sits below it in about 95 %
    of samples, and so does the truth below the upper bound."""
    rng = np.random.default_rng(7)
    below_upper = above_lower = 0
    trials = 400
    for _ in range(trials):
        lo, hi = quantile_interval(rng.uniform(size=2000), 0.95, 0.95)
        above_lower += lo <= 0.95
        below_upper += hi >= 0.95
    assert 0.91 <= above_lower / trials <= 0.99
    assert 0.91 <= below_upper / trials <= 0.99


def test_close_to_bootstrap_for_large_samples() -> None:
    v = np.random.default_rng(1).lognormal(size=5000)
    q_lo, q_hi = quantile_interval(v, 0.95, 0.95)
    b_lo, b_hi = bootstrap_interval(v, "p95", 0.95)
    width = b_hi - b_lo
    assert abs(q_lo - b_lo) < 0.35 * width and abs(q_hi - b_hi) < 0.35 * width


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=400),
    st.sampled_from(["p50", "p90", "p95", "median", "mean", "max"]),
)
# a mean of equal values rounds one ulp above them
@example([0.0, 4.0035974834796325e-203, 4.0035974834796325e-203], "mean")
def test_aggregate_interval_brackets_the_sample_statistic(values: list[float], stat: str) -> None:
    lo, hi = aggregate_interval(values, stat, 0.95, n_resamples=200)
    assert min(values) <= lo <= hi <= max(values)


def test_rejects_bad_q() -> None:
    with pytest.raises(ValueError):
        quantile_interval([1.0, 2.0], 1.0)
