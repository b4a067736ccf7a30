from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cujeval.aggregate import Columns
from cujeval.gate import decide
from cujeval.slo import Verdict, evaluate_journey
from cujeval.suite import Journey, Settings


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
    s = Settings()
    breached = evaluate_journey(journey(RATIO), faithful(80, 100), s)
    unsure = evaluate_journey(journey(RATIO), faithful(96, 100), s)
    met = evaluate_journey(journey(RATIO), faithful(100, 100), s)
    strict = Settings(strict=True)
    assert decide({"j": met}, s).exit_code == 0
    g = decide({"j": breached, "k": unsure}, s)
    assert (g.passed, g.exit_code) == (False, 1)
    assert g.blocking == ["j/grounded BREACHED"] and g.warnings == ["k/grounded INCONCLUSIVE"]
    assert g.journeys == {"j": "block", "k": "warn"}
    assert decide({"k": unsure}, s).passed and not decide({"k": unsure}, strict).passed
    info = evaluate_journey(journey({**RATIO, "blocking": False}), faithful(80, 100), s)
    assert decide({"j": info}, s).passed
    assert decide({"j": met}, s, aborted="target unreachable").exit_code == 3
