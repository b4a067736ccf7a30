"""Error budgets and burn rates: the formulas on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from cujeval.core.budget import RunCount, burn_rate, compute, quantile_target
from cujeval.errors import SuiteError
from cujeval.spec.budget import BudgetPolicy
from cujeval.spec.suite import load_suite


def runs(*goods: float, n: float = 20) -> list[RunCount]:
    return [RunCount(f"r{i + 1}", n, g) for i, g in enumerate(goods)]


def test_budget_over_three_runs() -> None:
    # target 0.9, 3 runs of 20 cases with 1, 10, 1 bad: budget 0.1 * 60 = 6, consumed 12
    s = compute("j", "ok", 0.9, runs(19, 10, 19))
    assert s.cases == 60 and s.bad == 12
    assert s.budget == pytest.approx(6.0)
    assert s.remaining == pytest.approx(-6.0)
    assert s.remaining_share == pytest.approx(-1.0)
    assert s.exhausted
    assert s.burn_last == pytest.approx(0.5)  # (1/20) / 0.1
    assert s.burn_slow == pytest.approx(2.0)  # (12/60) / 0.1, all three runs within 7
    assert s.slow and not s.fast  # 1 bad of 20: Wilson lower bound 0.011 < 0.1 allowed
    assert s.worst is not None and s.worst.run_id == "r2" and s.worst.bad == 10
    assert s.worst_share == pytest.approx(10 / 6)
    assert s.alert == "slow"


def test_fast_alert_needs_a_big_share_and_a_sure_rate() -> None:
    # the last run: 10 bad of 20 spends 10 of a budget of 0.1 * 40 = 4, and its bad rate's
    # lower bound (0.327 at 95 %, one-sided Wilson) is above the allowed 0.1
    s = compute("j", "ok", 0.9, runs(20, 10))
    assert s.fast and s.alert == "fast+slow"
    assert s.burn_last == pytest.approx(5.0)
    # a bad run too small to be sure of: 1 bad of 3 spends 1 >= 0.1 * 8.3 of the budget, but
    # the lower bound of its bad rate is 0.078, under the allowed 0.1 (1 of 2 would be 0.121)
    t = compute("j", "ok", 0.9, [*runs(20, 20, 20, 20), RunCount("tiny", 3, 2)])
    assert t.bad == 1 and not t.fast
    assert t.burn_last == pytest.approx(10 / 3)
    assert compute("j", "ok", 0.9, [*runs(20, 20, 20, 20), RunCount("tiny", 2, 1)]).fast


def test_window_keeps_the_newest_runs() -> None:
    s = compute("j", "ok", 0.9, runs(0, 20, 20, 19), BudgetPolicy(window=2))
    assert s.runs == 2 and s.cases == 40 and s.bad == 1
    assert s.budget == pytest.approx(4.0) and s.remaining_share == pytest.approx(0.75)
    assert not s.exhausted and s.worst is not None and s.worst.run_id == "r4"


def test_slow_window_pools_the_last_runs() -> None:
    # 7-run window of a 10-run history: runs 4..10 with 2 bad each of 20 -> (14/140)/0.1 = 1
    s = compute("j", "ok", 0.9, runs(20, 20, 20, *([18] * 7)))
    assert s.slow_runs == 7 and s.burn_slow == pytest.approx(1.0) and s.slow
    s = compute("j", "ok", 0.9, runs(*([18] * 6), 19), BudgetPolicy(slow_window=7))
    assert s.burn_slow == pytest.approx((13 / 140) / 0.1) and not s.slow


def test_exhausted_only_with_bad_cases() -> None:
    assert not compute("j", "ok", 1.0, runs(20, 20)).exhausted
    s = compute("j", "ok", 1.0, runs(20, 19))
    assert s.exhausted and s.remaining_share is None and math.isinf(s.burn_last)
    assert not compute("j", "ok", 0.9, []).exhausted


def test_burn_rate_formula() -> None:
    assert burn_rate(5, 100, 0.95) == pytest.approx(1.0)
    assert burn_rate(0, 100, 0.95) == 0.0
    assert burn_rate(3, 0, 0.95) == 0.0


def test_quantile_objectives_have_budgets() -> None:
    assert quantile_target("p95(latency_s) <= 1.5") == (pytest.approx(0.95), "latency_s", "<=", 1.5)
    assert quantile_target("p10(answer_similarity) >= 0.4")[0] == pytest.approx(0.9)  # type: ignore[index]
    assert quantile_target("mean(cost_usd) <= 0.1") is None


def test_policy_in_the_suite(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    from tests.helpers import write_suite

    root = Path(str(tmp_path))
    path = write_suite(root, url="http://127.0.0.1:9/x")
    text = path.read_text()
    path.write_text(
        text + "budget: {window: 14, trigger: nightly, max_drop: 0.02, "
        "slos: {no-errors: {max_drop: 0.1}}}\n"
    )
    suite = load_suite(path)
    assert suite.budget is not None and suite.budget.window == 14
    assert suite.budget.max_drop_for("j", "no-errors") == 0.1
    assert suite.budget.max_drop_for("j", "fast") == 0.02
    path.write_text(text + "budget: {windw: 14}\n")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert "budget.windw" in str(err.value) and ":" in str(err.value)
