from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cujeval.core.aggregate import Columns
from cujeval.core.gate import decide
from cujeval.core.slo import Verdict, evaluate_journey
from cujeval.spec.suite import Journey, Settings
from tests.helpers import judged


def journey(*slos: dict[str, Any]) -> Journey:
    return Journey.model_validate(
        {"name": "j", "dataset": "d.jsonl", "target": "t", "scorers": ["error"], "slos": list(slos)}
    )


def columns(rows: list[dict[str, Any]], ok: list[bool] | None = None) -> Columns:
    c = Columns()
    for i, scores in enumerate(rows):
        c.add(f"c{i}", 0, True if ok is None else ok[i], scores)
    return c


def faithful(good: int, n: int) -> Columns:
    return columns([{"faithfulness": 0.9 if i < good else 0.5} for i in range(n)])


RATIO = {"name": "grounded", "good": "faithfulness >= 0.8", "target": 0.95}


@pytest.mark.parametrize(
    ("good", "verdict"),
    [
        (91, Verdict.BREACHED),
        (92, Verdict.INCONCLUSIVE),
        (98, Verdict.INCONCLUSIVE),
        (99, Verdict.MET),
        (100, Verdict.MET),
    ],
)
def test_ratio_three_way_design_check(good: int, verdict: Verdict) -> None:
    """DESIGN.md's check: target 95 %, n = 100: breached at <= 91 good, met at >= 99."""
    (r,) = evaluate_journey(journey(RATIO), faithful(good, 100), Settings())
    assert r.verdict is verdict and r.n == 100 and r.good == good
    assert r.lower is not None and r.upper is not None and r.lower <= good / 100 <= r.upper
    if verdict is Verdict.INCONCLUSIVE:
        assert r.cases_to_decide is not None and r.cases_to_decide > 0
    if verdict is Verdict.BREACHED:
        assert [w["value"] for w in r.worst_cases] == [0.5] * 5


def test_point_gate() -> None:
    s = Settings(gate="point")
    assert evaluate_journey(journey(RATIO), faithful(94, 100), s)[0].verdict is Verdict.BREACHED
    assert evaluate_journey(journey(RATIO), faithful(95, 100), s)[0].verdict is Verdict.MET


def test_unscorable_skip_or_bad() -> None:
    rows = [{"faithfulness": 0.9}] * 50 + [{"faithfulness": None}] * 50
    skip = evaluate_journey(journey(RATIO), columns(rows), Settings())[0]
    assert skip.n == 50 and skip.good == 50
    bad = evaluate_journey(journey({**RATIO, "unscorable": "bad"}), columns(rows), Settings())[0]
    assert bad.n == 100 and bad.good == 50 and bad.verdict is Verdict.BREACHED


def test_journey_success_needs_every_step_in_the_same_case() -> None:
    # 10 cases; step A fails on cases 0-1, step B fails on 2-3; target errors on case 4
    rows = [{"a": 0.0 if i < 2 else 1.0, "b": 0.0 if i in (2, 3) else 1.0} for i in range(10)]
    rows[4] = {"a": None, "b": None}
    ok = [i != 4 for i in range(10)]
    j = journey(
        {"name": "A", "good": "a >= 1", "target": 0.5},
        {"name": "B", "good": "b >= 1", "target": 0.5},
        {"name": "all", "all_of": ["A", "B"], "target": 0.5},
    )
    a, b, both = evaluate_journey(j, columns(rows, ok), Settings())
    assert (a.n, a.good) == (9, 7) and (b.n, b.good) == (9, 7)
    assert (both.n, both.good) == (10, 5)  # the errored case counts as bad for the journey


def test_aggregate_bootstrap_verdicts() -> None:
    rng = np.random.default_rng(0)
    fast = columns([{"latency_s": float(v)} for v in rng.uniform(0.1, 0.5, 200)])
    slo = {"name": "p95", "objective": "p95(latency_s) <= 1.0"}
    (r,) = evaluate_journey(journey(slo), fast, Settings())
    assert r.verdict is Verdict.MET and r.estimate is not None and r.estimate < 0.5
    assert r.lower is not None and r.upper is not None and r.lower <= r.estimate <= r.upper
    slow = columns([{"latency_s": float(v)} for v in rng.uniform(1.5, 3.0, 200)])
    (r,) = evaluate_journey(journey(slo), slow, Settings())
    assert r.verdict is Verdict.BREACHED
    assert r.worst_cases[0]["value"] == max(w["value"] for w in r.worst_cases)
    edge = columns([{"latency_s": float(v)} for v in rng.uniform(0.0, 1.05, 40)])
    (r,) = evaluate_journey(journey(slo), edge, Settings())
    assert r.verdict is Verdict.INCONCLUSIVE


def test_aggregate_without_data_is_inconclusive() -> None:
    c = columns([{"latency_s": None}] * 3)
    (r,) = evaluate_journey(
        journey({"name": "p", "objective": "mean(latency_s) < 1"}), c, Settings()
    )
    assert r.verdict is Verdict.NO_DATA and r.n == 0


def test_gate_policy() -> None:
    from cujeval.core.gate import incomplete

    s = Settings()
    breached = evaluate_journey(journey(RATIO), faithful(80, 100), s)
    unsure = evaluate_journey(journey(RATIO), faithful(96, 100), s)
    met = evaluate_journey(journey(RATIO), faithful(100, 100), s)
    strict = Settings(strict=True)
    assert decide([judged("j", met)], s).exit_code == 0
    g = decide([judged("j", breached), judged("k", unsure)], s)
    assert (g.passed, g.exit_code) == (False, 1)
    assert g.blocking == ["j/grounded BREACHED"]
    assert [r.kind for r in g.reasons] == ["breached", "inconclusive"]
    assert g.warnings[0].startswith("k/grounded INCONCLUSIVE")
    assert g.journeys == {"j": "block", "k": "warn"}
    assert decide([judged("k", unsure)], s).passed
    assert not decide([judged("k", unsure)], strict).passed
    info = evaluate_journey(journey({**RATIO, "blocking": False}), faithful(80, 100), s)
    assert decide([judged("j", info)], s).passed
    assert decide([judged("j", met)], s, [incomplete("target unreachable")]).exit_code == 3


def test_design_effect_by_hand() -> None:
    from cujeval.core.slo import design_effect

    y = np.array([1.0, 1.0, 0.0, 0.0])
    # residuals ±0.5: within = 1.0; clusters a (+1.0) and b (−1.0): between = 2.0
    assert design_effect(y, ["a", "a", "b", "b"]) == pytest.approx(2.0)
    assert design_effect(y, [None, None, None, None]) == 1.0
    assert design_effect(y, ["a", "b", "a", "b"]) == 1.0  # clusters that cancel: floor at 1
    assert design_effect(np.ones(4), ["a", "a", "a", "a"]) == 1.0  # no variation


def test_clustered_cases_widen_the_interval() -> None:
    rows = [{"faithfulness": 0.9 if i < 95 else 0.5} for i in range(100)]  # bad ones in doc4
    plain = columns(rows)
    clustered = Columns()
    for i, scores in enumerate(rows):
        clustered.add(f"c{i}", 0, True, scores, cluster=f"doc{i // 20}")
    spec = {**RATIO, "target": 0.90}
    (a,) = evaluate_journey(journey(spec), plain, Settings())
    (b,) = evaluate_journey(journey(spec), clustered, Settings())
    assert a.estimate == b.estimate == 0.95 and a.n == b.n == 100
    assert a.design_effect is None and b.design_effect is not None and b.design_effect > 1
    assert b.lower is not None and a.lower is not None and b.lower < a.lower


def test_repeats_reduce_to_one_value_per_case() -> None:
    c = Columns()
    for i in range(10):
        for epoch in range(3):  # case c0 fails once in three; the rest always pass
            c.add(f"c{i}", epoch, True, {"faithfulness": 0.5 if (i, epoch) == (0, 1) else 0.9})
    (r,) = evaluate_journey(journey(RATIO), c, Settings(epochs=3))
    assert r.n == 10 and r.n_rows == 30
    assert r.good == pytest.approx(9 + 2 / 3) and r.estimate == pytest.approx(0.9 + 2 / 30)
    assert r.pass_all_k == pytest.approx(0.9) and r.pass_any_k == 1.0


@pytest.mark.parametrize(
    ("statistic", "expected"), [("p95", 59), ("p99", 299), ("median", 5), ("mean", 10)]
)
def test_min_cases_for_a_one_sided_bound(statistic: str, expected: int) -> None:
    from cujeval.core.slo import min_cases

    assert min_cases(statistic, 0.95) == expected


@pytest.mark.parametrize(("n", "verdict"), [(1, "INCONCLUSIVE"), (58, "INCONCLUSIVE"), (59, "MET")])
def test_a_quantile_objective_needs_enough_cases_to_be_met(n: int, verdict: str) -> None:
    c = columns([{"latency_s": 0.1} for _ in range(n)])
    (r,) = evaluate_journey(
        journey({"name": "p", "objective": "p95(latency_s) <= 5"}), c, Settings()
    )
    assert r.verdict.value == verdict and r.min_cases == 59
    if n < 59:
        assert r.cases_to_decide == 59 - n


@pytest.mark.parametrize("n", [1, 5, 20])
@pytest.mark.parametrize("objective", ["p95(latency_s) <= 0.1", "p99(latency_s) <= 0.1"])
def test_a_provable_quantile_breach_is_breached_at_any_n(n: int, objective: str) -> None:
    """Every case above the bound: the lower bound of the quantile is above it too (the
    minimum n is what MET needs, never what BREACHED needs)."""
    c = columns([{"latency_s": 0.3} for _ in range(n)])
    (r,) = evaluate_journey(journey({"name": "p", "objective": objective}), c, Settings())
    assert r.verdict is Verdict.BREACHED
    assert r.lower is not None and r.lower > 0.1 and r.upper is None


def test_a_high_quantile_of_few_cases_is_not_breached_by_one_slow_case() -> None:
    """One slow case in 20 does not prove p95 above the bound: the exact lower bound is the
    17th of 20 values."""
    c = columns([{"latency_s": 0.05} for _ in range(19)] + [{"latency_s": 3.0}])
    (r,) = evaluate_journey(
        journey({"name": "p", "objective": "p95(latency_s) <= 0.1"}), c, Settings()
    )
    assert r.verdict is Verdict.INCONCLUSIVE and r.lower == 0.05


def test_every_case_breaches_on_the_first_bad_case() -> None:
    spec = {"name": "each", "good": "faithfulness >= 0.8", "every_case": True}
    (one_bad,) = evaluate_journey(journey(spec), faithful(9, 10), Settings())
    (all_good,) = evaluate_journey(journey(spec), faithful(1, 1), Settings())
    (none,) = evaluate_journey(journey(spec), columns([{"faithfulness": None}]), Settings())
    assert one_bad.verdict is Verdict.BREACHED and one_bad.target == 1.0
    assert all_good.verdict is Verdict.MET
    assert none.verdict is Verdict.NO_DATA
