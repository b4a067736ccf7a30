"""SLO verdicts and the release gate.

Ratio SLO (n valid cases, g good): one-sided Wilson bounds at the suite's confidence. Lower
bound >= target: MET. Upper bound < target: BREACHED. Otherwise INCONCLUSIVE, with the number
of further cases that would decide it if the observed rate held.
Aggregate SLO (``p95(latency_s) <= 2``): one-sided bounds of the statistic (order-statistic
bounds for a quantile of a large sample, else the percentile bootstrap), same three-way logic.
Journey success: a case is good only when every step predicate is good in that case.
``gate: point`` judges by the point estimate alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from cujeval import stats
from cujeval.aggregate import Columns
from cujeval.suite import Journey, Settings, SLOSpec

if TYPE_CHECKING:
    import numpy as np


class Verdict(StrEnum):
    MET = "MET"
    BREACHED = "BREACHED"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class SLOResult:
    name: str
    kind: Literal["ratio", "aggregate", "journey"]
    expression: str
    verdict: Verdict
    estimate: float | None
    lower: float | None
    upper: float | None
    n: int
    target: float | None = None  # ratio and journey SLOs: share of good cases required
    good: int | None = None
    bound: float | None = None  # aggregate SLOs: the statistic's bound
    op: str | None = None
    cases_to_decide: int | None = None
    blocking: bool = True
    description: str = ""
    worst_cases: list[dict[str, Any]] = field(default_factory=list)


def _good_mask(spec: SLOSpec, columns: Columns, journey: Journey) -> tuple[np.ndarray, np.ndarray]:
    """(valid, good) boolean arrays over rows for a ratio or journey SLO."""
    import numpy as np

    ok = columns.ok_mask()
    steps = (
        [spec]
        if spec.kind == "ratio"
        else [s for s in journey.slos if s.name in (spec.all_of or ())]
    )
    n = len(columns)
    valid = np.zeros(n, dtype=bool)
    good = np.ones(n, dtype=bool)
    for step in steps:
        pred = step.predicate
        col = columns.column(pred.sli)
        scorable = ~np.isnan(col)
        passed = np.zeros(n, dtype=bool)
        passed[scorable] = [pred(v) for v in col[scorable]]
        # a case the target failed is bad for journey success; elsewhere as `unscorable` says
        counts_bad = ~scorable & ((~ok & (spec.kind == "journey")) | (step.unscorable == "bad"))
        valid |= scorable | counts_bad
        good &= np.where(scorable, passed, ~counts_bad)
    return valid, good & valid


def _worst_ratio(
    spec: SLOSpec, columns: Columns, valid: np.ndarray, good: np.ndarray, k: int
) -> list[dict[str, Any]]:
    import numpy as np

    bad = np.flatnonzero(valid & ~good)
    sli = spec.predicate.sli if spec.kind == "ratio" else None
    out = []
    if sli is not None and bad.size:
        col = columns.column(sli)
        higher = spec.predicate.op in (">=", ">")
        vals = np.nan_to_num(col[bad], nan=-np.inf if higher else np.inf)
        bad = bad[np.argsort(vals if higher else -vals, kind="stable")]
    for i in bad[:k]:
        row: dict[str, Any] = {"case_id": columns.case_ids[i], "epoch": int(columns.epochs[i])}
        if sli is not None:
            v = columns.column(sli)[i]
            row["value"] = None if np.isnan(v) else float(v)
        out.append(row)
    return out


def _three_way(lower: float, upper: float, meets: Any) -> Verdict:
    if meets(lower) and meets(upper):
        return Verdict.MET
    if not meets(lower) and not meets(upper):
        return Verdict.BREACHED
    return Verdict.INCONCLUSIVE


def evaluate_ratio(
    spec: SLOSpec, columns: Columns, journey: Journey, settings: Settings
) -> SLOResult:
    valid, good_mask = _good_mask(spec, columns, journey)
    n, g = int(valid.sum()), int(good_mask.sum())
    target = float(spec.target or 0)
    lower, upper = stats.wilson_bounds(g, n, settings.confidence, one_sided=True)
    estimate = g / n if n else None
    if settings.gate == "point":
        verdict = (
            Verdict.INCONCLUSIVE
            if estimate is None
            else (Verdict.MET if estimate >= target else Verdict.BREACHED)
        )
    elif lower >= target:
        verdict = Verdict.MET
    elif upper < target:
        verdict = Verdict.BREACHED
    else:
        verdict = Verdict.INCONCLUSIVE
    decide = (
        stats.cases_to_decide(g, n, target, settings.confidence)
        if verdict is Verdict.INCONCLUSIVE and n
        else None
    )
    expression = spec.good or "all of: " + ", ".join(spec.all_of or ())
    return SLOResult(
        name=spec.name,
        kind=spec.kind,
        expression=expression,
        verdict=verdict,
        estimate=estimate,
        lower=lower if n else None,
        upper=upper if n else None,
        n=n,
        good=g,
        target=target,
        cases_to_decide=decide,
        blocking=spec.blocking,
        description=spec.description,
        worst_cases=_worst_ratio(spec, columns, valid, good_mask, settings.worst_cases),
    )


def evaluate_aggregate(spec: SLOSpec, columns: Columns, settings: Settings) -> SLOResult:
    import numpy as np

    obj = spec.parsed_objective
    col = columns.column(obj.sli)
    idx = np.flatnonzero(~np.isnan(col))
    vals = col[idx]
    make = partial(
        SLOResult,
        name=spec.name,
        kind="aggregate",
        expression=str(obj),
        bound=obj.bound,
        op=obj.op,
        blocking=spec.blocking,
        description=spec.description,
    )
    if vals.size == 0:
        return make(verdict=Verdict.INCONCLUSIVE, estimate=None, lower=None, upper=None, n=0)
    estimate = stats.statistic_value(vals, obj.statistic)
    lower, upper = stats.aggregate_interval(
        vals,
        obj.statistic,
        settings.confidence,
        n_resamples=settings.bootstrap_resamples,
        seed=settings.seed,
        one_sided=True,
    )
    if settings.gate == "point":
        verdict = Verdict.MET if obj.holds(estimate) else Verdict.BREACHED
    else:
        verdict = _three_way(lower, upper, obj.holds)
    order = np.argsort(vals if obj.higher_is_better else -vals, kind="stable")
    worst = [
        {
            "case_id": columns.case_ids[idx[i]],
            "epoch": int(columns.epochs[idx[i]]),
            "value": float(vals[i]),
        }
        for i in order[: settings.worst_cases]
    ]
    return make(
        verdict=verdict,
        estimate=estimate,
        lower=lower,
        upper=upper,
        n=int(vals.size),
        worst_cases=worst,
    )


def evaluate_journey(journey: Journey, columns: Columns, settings: Settings) -> list[SLOResult]:
    """Every SLO of a journey, in the suite's order."""
    out = []
    for spec in journey.slos:
        if spec.kind == "aggregate":
            out.append(evaluate_aggregate(spec, columns, settings))
        else:
            out.append(evaluate_ratio(spec, columns, journey, settings))
    return out


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    exit_code: int
    blocking: list[str]  # "journey/slo VERDICT"
    warnings: list[str]


def decide(
    results: dict[str, list[SLOResult]], *, strict: bool = False, aborted: bool = False
) -> GateDecision:
    """BREACHED blocks; INCONCLUSIVE warns (blocks with ``strict``). Exit 0 / 1 / 3."""
    blocking: list[str] = []
    warnings: list[str] = []
    for journey, slos in results.items():
        for r in slos:
            label = f"{journey}/{r.name} {r.verdict.value}"
            if r.verdict is Verdict.BREACHED or (r.verdict is Verdict.INCONCLUSIVE and strict):
                (blocking if r.blocking else warnings).append(label)
            elif r.verdict is Verdict.INCONCLUSIVE:
                warnings.append(label)
    if aborted:
        return GateDecision(False, 3, blocking, warnings)
    return GateDecision(not blocking, 0 if not blocking else 1, blocking, warnings)
