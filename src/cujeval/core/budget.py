"""Error budgets and burn rates of SLOs over a window of runs (history read back from MLflow).

For an SLO with target t, over the W most recent runs (default 28, optionally only one trigger):

    budget    = (1 − t) · N          N = cases in the window
    consumed  = B                    B = bad cases in the window (n − good, per run, summed)
    remaining = budget − B           share left = remaining / budget
    burn(run) = ((n − good) / n) / (1 − t)      1 spends the budget exactly over the window

Alerts, after the SRE workbook's multi-window burn rate, counted in runs:

- fast: the last run alone spends ≥ ``fast_share`` (10 %) of the window's budget *and* the
  lower confidence bound of its bad rate (one-sided Wilson) is above the allowed 1 − t;
- slow: the burn rate pooled over the last ``slow_window`` (7) runs is ≥ ``slow_burn`` (1).

A budget is *exhausted* when bad cases were seen and nothing remains (remaining ≤ 0). Under
the suite's ``budget:`` policy an exhausted budget fails the release gate even when today's
run passes. Ratio and journey-success SLOs have budgets; so do quantile objectives
(``p95(latency_s) <= 1.5`` is "95 % of cases at most 1.5 s": a case is good when its value
meets the bound, target 0.95); means, minima and maxima have none.

The policy itself (the suite's ``budget:`` block) is cujeval.spec.budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy
from cujeval.spec.predicates import Predicate, parse_objective

if TYPE_CHECKING:
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import RunResult


@dataclass(frozen=True)
class RunCount:
    """One run's evidence for one SLO: n cases, good of them (fractional with epochs)."""

    run_id: str  # cujeval's run id
    n: float
    good: float
    started: str = ""  # ISO time the run started
    trigger: str = ""
    mlflow_run_id: str | None = None

    @property
    def bad(self) -> float:
        return max(self.n - self.good, 0.0)


@dataclass(frozen=True)
class BudgetState:
    """An SLO's error budget over the window ending at the newest run."""

    journey: str
    slo: str
    target: float
    runs: int
    cases: float
    bad: float
    budget: float
    remaining: float
    remaining_share: float | None  # None when the budget is zero (target 1)
    burn_last: float  # the newest run alone
    burn_slow: float  # pooled over the last slow_window runs
    slow_runs: int
    fast: bool
    slow: bool
    exhausted: bool
    last: RunCount | None
    worst: RunCount | None  # the run that spent most (most bad cases) in the window
    worst_share: float | None  # its bad cases as a share of the window's budget

    @property
    def alert(self) -> str:
        return "+".join(k for k, on in (("fast", self.fast), ("slow", self.slow)) if on) or "none"

    def to_dict(self) -> dict[str, object]:
        return {
            "journey": self.journey,
            "slo": self.slo,
            "target": self.target,
            "runs": self.runs,
            "cases": self.cases,
            "bad": self.bad,
            "budget": self.budget,
            "remaining": self.remaining,
            "remaining_share": self.remaining_share,
            "burn_last": _finite(self.burn_last),
            "burn_slow": _finite(self.burn_slow),
            "slow_runs": self.slow_runs,
            "alert": self.alert,
            "exhausted": self.exhausted,
            "last_run": self.last.run_id if self.last else None,
            "worst_run": self.worst.run_id if self.worst else None,
            "worst_mlflow_run": self.worst.mlflow_run_id if self.worst else None,
            "worst_bad": self.worst.bad if self.worst else None,
            "worst_share": self.worst_share,
        }


def _finite(x: float) -> float | str:
    return x if math.isfinite(x) else "inf"


def burn_rate(bad: float, n: float, target: float) -> float:
    """(bad / n) ÷ (1 − target); 0 without cases; ∞ for a bad case under target 1."""
    if n <= 0 or bad <= 0:
        return 0.0
    allowed = 1.0 - target
    return (bad / n) / allowed if allowed > 0 else math.inf


def compute(
    journey: str,
    slo: str,
    target: float,
    counts: Sequence[RunCount],
    policy: BudgetPolicy = DEFAULT_POLICY,
    confidence: float = 0.95,
) -> BudgetState:
    """The budget over the last ``policy.window`` of ``counts`` (oldest first)."""
    window = [c for c in counts if c.n > 0][-policy.window :]
    cases = math.fsum(c.n for c in window)
    bad = math.fsum(c.bad for c in window)
    budget = (1.0 - target) * cases
    remaining = budget - bad
    last = window[-1] if window else None
    slow_part = window[-policy.slow_window :]
    slow_n = math.fsum(c.n for c in slow_part)
    slow_bad = math.fsum(c.bad for c in slow_part)
    burn_slow = burn_rate(slow_bad, slow_n, target)
    fast = False
    if last is not None and last.bad > 0 and last.bad >= policy.fast_share * budget:
        from cujeval.core.stats import wilson_bounds

        lower_bad, _ = wilson_bounds(last.bad, last.n, confidence)
        fast = lower_bad > 1.0 - target
    worst = None
    for c in window:  # ties: the newer run
        if c.bad > 0 and (worst is None or c.bad >= worst.bad):
            worst = c
    return BudgetState(
        journey=journey,
        slo=slo,
        target=target,
        runs=len(window),
        cases=cases,
        bad=bad,
        budget=budget,
        remaining=remaining,
        remaining_share=remaining / budget if budget > 0 else None,
        burn_last=burn_rate(last.bad, last.n, target) if last else 0.0,
        burn_slow=burn_slow,
        slow_runs=len(slow_part),
        fast=fast,
        slow=bool(slow_part) and burn_slow >= policy.slow_burn,
        exhausted=bad > 0 and remaining <= 1e-9,
        last=last,
        worst=worst,
        worst_share=(worst.bad / budget if budget > 0 else None) if worst else None,
    )


# ---- per-run evidence -------------------------------------------------------------------


@dataclass(frozen=True)
class SLOCount:
    """What one run says about one SLO's budget: n cases, good cases, the target."""

    journey: str
    slo: str
    n: float
    good: float
    target: float


def quantile_target(expression: str) -> tuple[float, str, str, float] | None:
    """For a quantile objective ``pNN(sli) OP bound``: (target, sli, op, bound), where a case
    is good when its value satisfies ``OP bound`` and the target share is NN/100 for ``<=``/``<``
    (1 − NN/100 for ``>=``/``>``); None for other objectives."""
    from cujeval.core.stats import quantile_of

    try:
        obj = parse_objective(expression)
    except ValueError:
        return None
    q = quantile_of(obj.statistic)
    if q is None or obj.op in ("==", "!="):
        return None
    target = q if obj.op in ("<=", "<") else 1.0 - q
    return target, obj.sli, obj.op, obj.bound


def slo_counts(result: RunResult, rows: Iterable[JournalRow] = ()) -> list[SLOCount]:
    """Each budgeted SLO's evidence in one run: ratio and journey SLOs from results.json;
    quantile objectives from the journal rows (a case's value is the mean of its repeats)."""
    out: list[SLOCount] = []
    wanted: dict[str, list[tuple[str, Predicate, float]]] = {}
    for j in result.journeys:
        for s in j.slos:
            if s.kind in ("ratio", "journey") and s.target is not None:
                out.append(SLOCount(j.name, s.name, float(s.n), float(s.good or 0.0), s.target))
            elif s.kind == "aggregate":
                q = quantile_target(s.expression)
                if q is not None:
                    target, sli, op, bound = q
                    wanted.setdefault(j.name, []).append(
                        (s.name, Predicate(sli=sli, op=op, value=bound), target)
                    )
    if wanted:
        out.extend(_quantile_counts(wanted, rows))
    return out


def _quantile_counts(
    wanted: Mapping[str, list[tuple[str, Predicate, float]]], rows: Iterable[JournalRow]
) -> list[SLOCount]:
    sums: dict[tuple[str, str, str], list[float]] = {}  # (journey, slo, case) -> [sum, count]
    for row in rows:
        for name, pred, _ in wanted.get(row.journey, ()):
            value = (row.scores.get(pred.sli) or {}).get("value")
            if isinstance(value, bool | int | float) and math.isfinite(float(value)):
                acc = sums.setdefault((row.journey, name, row.case_id), [0.0, 0.0])
                acc[0] += float(value)
                acc[1] += 1
    out = []
    for journey, specs in wanted.items():
        for name, pred, target in specs:
            vals = [s / c for (j, n, _), (s, c) in sums.items() if j == journey and n == name]
            good = sum(1 for v in vals if pred(v))
            out.append(SLOCount(journey, name, float(len(vals)), float(good), target))
    return out
