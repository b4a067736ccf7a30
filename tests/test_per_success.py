"""per_success(SLI, SLO): the SLI summed over every case ÷ the cases good by another SLO (cost
per successful journey), with hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from cujeval.core.aggregate import Columns
from cujeval.core.gate import decide
from cujeval.core.slo import Verdict, evaluate_journey
from cujeval.spec.predicates import parse_objective
from cujeval.spec.suite import Journey, Settings
from tests.helpers import judged

OK = {"name": "ok", "good": "error == false", "target": 0.5}


def journey(*slos: dict[str, Any]) -> Journey:
    return Journey.model_validate(
        {"name": "j", "dataset": "d.jsonl", "target": "t", "scorers": ["error"], "slos": list(slos)}
    )


def per_success(bound: float, op: str = "<=") -> dict[str, Any]:
    return {"name": "cps", "objective": f"per_success(cost_usd, ok) {op} {bound}"}


def run(cases: list[tuple[float, bool]], *slos: dict[str, Any], epochs: int = 1) -> Any:
    """Each case (cost, failed) repeated ``epochs`` times; returns the per_success result."""
    c = Columns()
    for i, (cost, failed) in enumerate(cases):
        for e in range(epochs):
            c.add(f"c{i}", e, True, {"cost_usd": cost, "error": failed})
    results = evaluate_journey(journey(OK, *slos), c, Settings(epochs=epochs))
    return next(r for r in results if r.name == "cps")


def test_the_estimate_is_total_cost_over_successes() -> None:
    # 20 cases at 0.001 each, 16 succeed: 0.02 / 16
    r = run([(0.001, i >= 16) for i in range(20)], per_success(0.002))
    assert r.estimate == pytest.approx(0.02 / 16)
    assert r.n == 20 and r.good == 16
    assert r.lower is not None and r.upper is not None
    assert r.lower <= r.estimate <= r.upper
    # every resample costs at least 0.001 per success (16/20 good at most... all 20 good)
    assert r.lower >= 0.001
    assert r.verdict is Verdict.MET  # the upper bound is well under 0.002
    # the failed cases spent money for nothing: they are the worst
    worst = [w["case_id"] for w in r.worst_cases]
    assert set(worst[:4]) == {f"c{i}" for i in range(16, 20)}


def test_a_bound_under_the_cost_of_one_case_is_breached() -> None:
    # no resample can cost less than 0.001 per success; P(a resample has no failure) = 0.8^20
    r = run([(0.001, i >= 16) for i in range(20)], per_success(0.001))
    assert r.verdict is Verdict.BREACHED
    assert decide([judged("j", [r])], Settings()).exit_code == 1


def test_failed_unpriced_and_repeated_cases() -> None:
    # an unpriced case (cost NaN) adds nothing; with 3 epochs each repeat is a row
    cases = [(0.002, False), (0.004, True), (math.nan, False)] * 4
    r = run(cases, per_success(1.0), epochs=3)
    total = 3 * 4 * (0.002 + 0.004)
    wins = 3 * 4 * 2
    assert r.estimate == pytest.approx(total / wins)
    assert r.n == 12 and r.n_rows == 36


def test_no_success_is_no_data_and_blocks() -> None:
    r = run([(0.001, True)] * 12, per_success(1.0))
    assert r.verdict is Verdict.NO_DATA and r.estimate is None
    assert decide([judged("j", [r])], Settings()).exit_code == 1


@pytest.mark.parametrize(("n", "verdict"), [(9, Verdict.INCONCLUSIVE), (10, Verdict.MET)])
def test_fewer_than_ten_cases_never_decide(n: int, verdict: Verdict) -> None:
    r = run([(0.001, False)] * n, per_success(0.01))
    assert r.verdict is verdict
    assert r.cases_to_decide == (1 if n == 9 else None)


def test_the_success_slo_may_be_a_journey_slo() -> None:
    both = {"name": "both", "all_of": ["ok"], "target": 0.5}
    c = Columns()
    for i in range(10):
        c.add(f"c{i}", 0, True, {"cost_usd": 0.01, "error": i == 0})
    slo = {"name": "cps", "objective": "per_success(cost_usd, both) <= 1"}
    results = evaluate_journey(journey(OK, both, slo), c, Settings())
    r = next(r for r in results if r.name == "cps")
    assert r.estimate == pytest.approx(0.1 / 9)


def test_parse_and_validation() -> None:
    obj = parse_objective("per_success( cost_usd , journey-success ) <= 5e-4")
    assert (obj.statistic, obj.sli, obj.success, obj.bound) == (
        "per_success",
        "cost_usd",
        "journey-success",
        0.0005,
    )
    assert str(obj) == "per_success(cost_usd, journey-success) <= 0.0005"
    for bad, says in [
        ("per_success(cost_usd) <= 1", "needs the SLO"),
        ("p95(latency_s, ok) <= 1", "only per_success"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_objective(bad)
    with pytest.raises(ValidationError, match=r"per_success names 'nope'.*they are: ok"):
        journey(OK, {"name": "cps", "objective": "per_success(cost_usd, nope) <= 1"})
    with pytest.raises(ValidationError, match="per_success names 'lat'"):
        journey(
            OK,
            {"name": "lat", "objective": "p95(latency_s) <= 1"},
            {"name": "cps", "objective": "per_success(cost_usd, lat) <= 1"},
        )


def test_the_verdict_sentence_names_the_whole_statistic() -> None:
    from dataclasses import asdict

    from cujeval.reporters.format import sentence
    from cujeval.spec.results import SLOEntry

    r = run([(0.001, i >= 16) for i in range(20)], per_success(0.001))
    entry = SLOEntry.model_validate({**asdict(r), "verdict": r.verdict.value})
    text = sentence("j", entry)
    assert text.startswith("j/cps BREACHED: per_success(cost_usd, ok) = 0.00125 [")
