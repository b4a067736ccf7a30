"""Property tests of the gate's soundness over generated journeys: more bad evidence never
moves a verdict toward MET, nor a failed gate to a passing one.

Ratio SLOs (one-sided Wilson bounds) and quantile objectives (exact order-statistic bounds) are
monotone in this sense by construction; bootstrap statistics (mean) resample and are left out.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cujeval.core.aggregate import Columns
from cujeval.core.gate import decide
from cujeval.core.slo import Verdict, evaluate_journey
from cujeval.spec.suite import Journey, Settings
from tests.helpers import judged

RANK = {Verdict.BREACHED: 0, Verdict.NO_DATA: 0, Verdict.INCONCLUSIVE: 1, Verdict.MET: 2}
BOUND = 1.0


def journey(target: float, statistic: str) -> Journey:
    return Journey.model_validate(
        {
            "name": "j",
            "dataset": "d.jsonl",
            "target": "t",
            "scorers": ["error"],
            "slos": [
                {"name": "ok", "good": "error == false", "target": target},
                {"name": "fast", "objective": f"{statistic}(latency_s) <= {BOUND}"},
            ],
        }
    )


def columns(cases: list[tuple[bool, float]]) -> Columns:
    c = Columns()
    for i, (error, latency) in enumerate(cases):
        c.add(f"c{i}", 0, not error, {"error": float(error), "latency_s": latency})
    return c


# at least one case: a run with no evidence at all is NO_DATA (it blocks), and there is
# nothing to make worse; its first bad case is evidence, judged like any other
cases = st.lists(
    st.tuples(st.booleans(), st.floats(0.0, 3.0, allow_nan=False)), min_size=1, max_size=150
)
worse = st.lists(st.floats(BOUND + 1e-6, 10.0, allow_nan=False), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(
    cases,
    worse,
    st.floats(0.5, 0.99),
    st.sampled_from(["p50", "p90", "p95", "p99"]),
    st.sampled_from([0.8, 0.9, 0.95]),
)
def test_adding_bad_or_slower_cases_never_moves_a_verdict_toward_met(
    base: list[tuple[bool, float]],
    slow: list[float],
    target: float,
    statistic: str,
    confidence: float,
) -> None:
    j = journey(round(target, 3), statistic)
    s = Settings(confidence=confidence)
    before = evaluate_journey(j, columns(base), s)
    after = evaluate_journey(j, columns(base + [(True, v) for v in slow]), s)
    for b, a in zip(before, after, strict=True):
        assert RANK[a.verdict] <= RANK[b.verdict], (b, a)
    gate_before = decide([judged("j", before)], s)
    gate_after = decide([judged("j", after)], s)
    if gate_before.exit_code == 1:
        assert gate_after.exit_code == 1


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.floats(0.51, 0.99), st.sampled_from(["p50", "p95", "p99"]))
def test_every_case_beyond_the_bound_is_a_breach_at_any_n(
    n: int, confidence: float, statistic: str
) -> None:
    """When every case is beyond a quantile's bound the verdict is BREACHED as soon as the
    order statistics can bound it from below at all (for p95 at 95 %: from one case)."""
    from cujeval.core.stats import quantile_bounds, quantile_of

    s = Settings(confidence=confidence)
    (_, r) = evaluate_journey(journey(0.5, statistic), columns([(False, 2.0)] * n), s)
    q = quantile_of(statistic)
    assert q is not None
    lower, _ = quantile_bounds([2.0] * n, q, confidence)
    if lower is not None:
        assert r.verdict is Verdict.BREACHED
    else:
        assert r.verdict is Verdict.INCONCLUSIVE
