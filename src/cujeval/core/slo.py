"""SLO verdicts over a journey's rows.

The case is the unit of evidence: repeats of a case (``--epochs K``) reduce to one value per
case before any interval (for ratio SLOs the share of its good repeats, or with ``repeats: all``
good only when every repeat is (pass^k), with ``repeats: any`` when one is (pass@k); for
aggregates the mean of its values), so ``n`` counts cases.

Ratio SLO (n cases, g = sum of their good shares): one-sided Wilson bounds at the suite's
confidence. Lower bound >= target: MET. Upper bound < target: BREACHED. Otherwise INCONCLUSIVE,
with the number of further cases that would decide it if the observed rate held. Cases that
share a ``cluster`` are not independent: the Wilson bounds use the effective sample size
n / deff, with the design effect deff = V_cluster / V_independent of the mean (>= 1).
``every_case: true`` asks each case to be good: BREACHED by the first bad case, MET when every
valid case is good (the per-case assertion of a unit test, at any n).
Aggregate SLO (``p95(latency_s) <= 2``): one-sided bounds of the statistic (exact order
statistics for a quantile, else the percentile bootstrap), same three-way logic. A verdict uses
all the evidence: the bound on the objective's good side proves a breach at any n (20 of 20
cases above the bound breach ``p95(x) <= b``), while MET needs the fewest cases the other
bound needs (p95 at 95 %: 59 cases).
Journey success: a case is good only when every step predicate is good in that case.
No valid case at all: NO_DATA, never a pass by default. ``gate: point`` judges by the point
estimate alone (NO_DATA stays NO_DATA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from cujeval.core import stats
from cujeval.core.aggregate import Columns
from cujeval.spec.suite import Journey, Settings, SLOSpec

if TYPE_CHECKING:
    import numpy as np

    from cujeval.spec.predicates import Objective
    from cujeval.spec.results import GateReason

MIN_CASES_BOOTSTRAP = 10  # a bootstrap of fewer cases understates the statistic's spread


class Verdict(StrEnum):
    MET = "MET"
    BREACHED = "BREACHED"
    INCONCLUSIVE = "INCONCLUSIVE"
    NO_DATA = "NO_DATA"


@dataclass(frozen=True)
class SLOResult:
    name: str
    kind: Literal["ratio", "aggregate", "journey"]
    expression: str
    verdict: Verdict
    estimate: float | None
    lower: float | None
    upper: float | None
    n: int  # cases (repeats of a case count once)
    target: float | None = None  # ratio and journey SLOs: share of good cases required
    good: float | None = None  # sum over cases of the share of good repeats
    bound: float | None = None  # aggregate SLOs: the statistic's bound
    op: str | None = None
    cases_to_decide: int | None = None
    min_cases: int | None = None  # aggregate SLOs: fewest cases the statistic's bound needs
    n_rows: int = 0  # rows (cases x epochs) that carried a value
    n_unscorable: int = 0  # cases with no value for this SLO
    n_scorer_errors: int = 0  # rows whose scorer raised for this SLO's SLI
    design_effect: float | None = None  # clustered cases: variance inflation of the estimate
    pass_all_k: float | None = None  # epochs > 1: share of cases good in every repeat
    pass_any_k: float | None = None  # epochs > 1: share of cases good in at least one repeat
    blocking: bool = True
    description: str = ""
    worst_cases: list[dict[str, Any]] = field(default_factory=list)


def row_masks(spec: SLOSpec, columns: Columns, journey: Journey) -> tuple[np.ndarray, np.ndarray]:
    """(valid, good) boolean arrays over rows for a ratio or journey SLO."""
    import numpy as np

    ok = columns.ok_mask()
    n = len(columns)
    valid = np.zeros(n, dtype=bool)
    good = np.ones(n, dtype=bool)
    for step in _steps(spec, journey):
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


def _steps(spec: SLOSpec, journey: Journey) -> list[SLOSpec]:
    if spec.kind == "journey":
        return [s for s in journey.slos if s.name in (spec.all_of or ())]
    return [spec]


def _slis(spec: SLOSpec, journey: Journey) -> list[str]:
    if spec.kind == "aggregate":
        return [spec.parsed_objective.sli]
    return [s.predicate.sli for s in _steps(spec, journey)]


def _aggregate_entry(spec: SLOSpec, needed: int, **counts: int) -> dict[str, Any]:
    """The fields every aggregate SLO's entry starts with; ``counts`` are its n_rows,
    n_unscorable and n_scorer_errors."""
    obj = spec.parsed_objective
    return {
        "name": spec.name,
        "kind": "aggregate",
        "expression": str(obj),
        "bound": obj.bound,
        "op": obj.op,
        "blocking": spec.blocking,
        "description": spec.description,
        "min_cases": needed,
        **counts,
    }


def _scorer_errors(columns: Columns, slis: list[str]) -> int:
    rows: set[int] = set()
    for sli in slis:
        rows.update(columns.scorer_errors.get(sli, ()))
    return len(rows)


def design_effect(values: np.ndarray, clusters: list[str | None]) -> float:
    """Variance inflation of the mean of ``values`` when cases share clusters:
    deff = Σ_c (Σ_{i∈c} (y_i − ȳ))² / Σ_i (y_i − ȳ)², at least 1 (cases without a cluster are
    their own). 1.0 when every cluster holds one case or the values do not vary."""
    import numpy as np

    if all(c is None for c in clusters):
        return 1.0
    resid = values - values.mean()
    within = float(np.sum(resid * resid))
    if within <= 0.0:
        return 1.0
    sums: dict[object, float] = {}
    for i, (r, c) in enumerate(zip(resid, clusters, strict=True)):
        key: object = ("case", i) if c is None else c
        sums[key] = sums.get(key, 0.0) + float(r)
    between = math.fsum(s * s for s in sums.values())
    return max(1.0, between / within)


def _case_clusters(columns: Columns, codes: np.ndarray, n_cases: int) -> list[str | None]:
    out: list[str | None] = [None] * n_cases
    for row, code in enumerate(codes):
        out[int(code)] = columns.clusters[row] if row < len(columns.clusters) else None
    return out


def evaluate_ratio(
    spec: SLOSpec, columns: Columns, journey: Journey, settings: Settings
) -> SLOResult:
    import numpy as np

    valid_row, good_row = row_masks(spec, columns, journey)
    codes, ids = columns.case_codes()
    n_cases = len(ids)
    valid_cnt = np.bincount(codes, weights=valid_row, minlength=n_cases)
    good_cnt = np.bincount(codes, weights=good_row, minlength=n_cases)
    case_valid = valid_cnt > 0
    share = np.divide(good_cnt, valid_cnt, out=np.zeros(n_cases), where=case_valid)
    pass_all = (share == 1.0) & case_valid
    pass_any = (good_cnt > 0) & case_valid
    if spec.repeats == "all":
        share = pass_all.astype(float)
    elif spec.repeats == "any":
        share = pass_any.astype(float)
    n = int(case_valid.sum())
    g = float(share[case_valid].sum())
    target = float(spec.target or 0)
    expression = spec.good or "all of: " + ", ".join(spec.all_of or ())
    if spec.repeats != "share":
        expression += f" ({'every' if spec.repeats == 'all' else 'any'} repeat)"
    if spec.every_case:
        expression += " (every case)"
    base: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "expression": expression,
        "target": target,
        "blocking": spec.blocking,
        "description": spec.description,
        "n_rows": int(valid_row.sum()),
        "n_unscorable": n_cases - n,
        "n_scorer_errors": _scorer_errors(columns, _slis(spec, journey)),
    }
    if n == 0:
        return SLOResult(
            verdict=Verdict.NO_DATA, estimate=None, lower=None, upper=None, n=0, good=0, **base
        )
    deff = design_effect(
        share[case_valid],
        [c for c, v in zip(_case_clusters(columns, codes, n_cases), case_valid, strict=True) if v],
    )
    n_eff = n / deff
    estimate = g / n
    lower, upper = stats.wilson_bounds(estimate * n_eff, n_eff, settings.confidence)
    if spec.every_case:
        verdict = Verdict.MET if g == n else Verdict.BREACHED
    elif settings.gate == "point":
        verdict = Verdict.MET if estimate >= target else Verdict.BREACHED
    else:
        verdict = _three_way(lower, upper, lambda x: x >= target)
    decide = None
    if verdict is Verdict.INCONCLUSIVE:
        more = stats.cases_to_decide(
            round(estimate * n_eff), round(n_eff), target, settings.confidence
        )
        decide = None if more is None else math.ceil(more * deff)
    epochs = np.bincount(codes, minlength=n_cases)
    repeated = settings.epochs > 1 and bool((epochs[case_valid] > 1).any())
    return SLOResult(
        verdict=verdict,
        estimate=estimate,
        lower=lower,
        upper=upper,
        n=n,
        good=g,
        cases_to_decide=decide,
        design_effect=deff if deff > 1.0 + 1e-9 else None,
        pass_all_k=float(pass_all[case_valid].mean()) if repeated else None,
        pass_any_k=float(pass_any[case_valid].mean()) if repeated else None,
        worst_cases=_worst_ratio(spec, columns, valid_row, good_row, settings.worst_cases),
        **base,
    )


def _worst_ratio(
    spec: SLOSpec, columns: Columns, valid: np.ndarray, good: np.ndarray, k: int
) -> list[dict[str, Any]]:
    """The bad rows, worst value first for a ratio SLO; each with its case id and epoch."""
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


def min_cases(statistic: str, confidence: float) -> int:
    """Fewest cases for which a one-sided bound of ``statistic`` at ``confidence`` exists.

    For the q-quantile, the largest (smallest) of n values bounds it only when
    max(q, 1 − q)ⁿ <= 1 − confidence, so n >= ln(1 − c) / ln(max(q, 1 − q)): p95 at 95 %
    needs 59 cases, p99 needs 299, the median 5. Means, minima and maxima by bootstrap need
    MIN_CASES_BOOTSTRAP.
    """
    q = stats.quantile_of(statistic)
    if q is None or not 0.0 < q < 1.0:
        return MIN_CASES_BOOTSTRAP
    return max(1, math.ceil(math.log(1.0 - confidence) / math.log(max(q, 1.0 - q)) - 1e-9))


def aggregate_bounds(
    vals: np.ndarray, statistic: str, settings: Settings
) -> tuple[float | None, float | None]:
    """One-sided bounds of the statistic, each None where n cases cannot give it.

    Quantiles: exact order-statistic bounds at any n (:func:`cujeval.core.stats.quantile_bounds`).
    Mean, min, max: the percentile bootstrap from MIN_CASES_BOOTSTRAP cases on; below that
    only what is certain: the true max is at least the largest value seen, the true min at most
    the smallest.
    """
    q = stats.quantile_of(statistic)
    if q is not None and 0.0 < q < 1.0:
        return stats.quantile_bounds(vals, q, settings.confidence)
    lower: float | None = None
    upper: float | None = None
    if vals.size >= MIN_CASES_BOOTSTRAP:
        lower, upper = stats.aggregate_interval(
            vals,
            statistic,
            settings.confidence,
            n_resamples=settings.bootstrap_resamples,
            seed=settings.seed,
            one_sided=True,
        )
    if statistic == "max":
        lower = float(vals.max())
    elif statistic == "min":
        upper = float(vals.min())
    return lower, upper


def _bounded_verdict(lower: float | None, upper: float | None, obj: Objective) -> Verdict:
    """BREACHED when the bound on the objective's good side already fails it (at any n), MET
    when the bound on its bad side holds it, else INCONCLUSIVE."""
    best, worst = (upper, lower) if obj.higher_is_better else (lower, upper)
    if best is not None and not obj.holds(best):
        return Verdict.BREACHED
    if worst is not None and obj.holds(worst):
        return Verdict.MET
    return Verdict.INCONCLUSIVE


def evaluate_per_success(
    spec: SLOSpec, columns: Columns, journey: Journey, settings: Settings
) -> SLOResult:
    """``per_success(SLI, SLO)``: the SLI summed over every row (unpriced rows count 0) ÷ the
    rows good by SLO. The interval is a one-sided percentile bootstrap that resamples golden
    cases (a case and all its repeats). No success at all: NO_DATA, the ratio has no value."""
    import numpy as np

    obj = spec.parsed_objective
    success = next(s for s in journey.slos if s.name == obj.success)
    col = columns.column(obj.sli)
    valid, good = row_masks(success, columns, journey)
    codes, ids = columns.case_codes()
    amount = np.bincount(codes, weights=np.nan_to_num(col, nan=0.0), minlength=len(ids))
    wins = np.bincount(codes, weights=good.astype(float), minlength=len(ids))
    seen = np.bincount(codes[valid], minlength=len(ids)) > 0
    needed = MIN_CASES_BOOTSTRAP
    base = _aggregate_entry(
        spec,
        needed,
        n_rows=int(valid.sum()),
        n_unscorable=len(ids) - int(seen.sum()),
        n_scorer_errors=_scorer_errors(columns, [obj.sli, *_slis(success, journey)]),
    )
    base["good"] = float(wins.sum())
    n = int(seen.sum())
    if n == 0 or wins.sum() == 0 or not (~np.isnan(col)).any():
        return SLOResult(
            verdict=Verdict.NO_DATA, estimate=None, lower=None, upper=None, n=n, **base
        )
    amount, wins = amount[seen], wins[seen]
    case_ids = [c for c, h in zip(ids, seen, strict=True) if h]
    estimate = float(amount.sum() / wins.sum())
    rng = np.random.default_rng(settings.seed)
    draws = rng.integers(0, n, size=(settings.bootstrap_resamples, n))
    num, den = amount[draws].sum(axis=1), wins[draws].sum(axis=1)
    ratios = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
    alpha = 1.0 - settings.confidence
    # resamples with no success cost infinitely much per success: order statistics, no
    # interpolation between infinities
    lower = float(np.quantile(ratios, alpha, method="lower"))
    upper = float(np.quantile(ratios, 1.0 - alpha, method="higher"))
    decide = None
    if settings.gate == "point":
        verdict = Verdict.MET if obj.holds(estimate) else Verdict.BREACHED
    elif n < needed:
        verdict, decide = Verdict.INCONCLUSIVE, needed - n
    else:
        verdict = _three_way(lower, upper, obj.holds)
    # worst: what the failed cases spent (they are what makes a success dear), then the rest
    order = sorted(range(n), key=lambda i: (wins[i] > 0, -amount[i]))
    worst = [
        {"case_id": case_ids[i], "value": float(amount[i])} for i in order[: settings.worst_cases]
    ]
    return SLOResult(
        verdict=verdict,
        estimate=estimate,
        lower=lower,
        upper=upper if math.isfinite(upper) else None,
        n=n,
        cases_to_decide=decide,
        worst_cases=worst,
        **base,
    )


def evaluate_aggregate(
    spec: SLOSpec, columns: Columns, journey: Journey, settings: Settings
) -> SLOResult:
    import numpy as np

    obj = spec.parsed_objective
    if obj.success is not None:
        return evaluate_per_success(spec, columns, journey, settings)
    col = columns.column(obj.sli)
    codes, ids = columns.case_codes()
    scorable = ~np.isnan(col)
    counts = np.bincount(codes[scorable], minlength=len(ids))
    sums = np.bincount(codes[scorable], weights=col[scorable], minlength=len(ids))
    has = counts > 0
    vals = sums[has] / counts[has]  # one value per case: the mean over its repeats
    case_ids = [c for c, h in zip(ids, has, strict=True) if h]
    needed = min_cases(obj.statistic, settings.confidence)
    base = _aggregate_entry(
        spec,
        needed,
        n_rows=int(scorable.sum()),
        n_unscorable=len(ids) - int(has.sum()),
        n_scorer_errors=_scorer_errors(columns, [obj.sli]),
    )
    if vals.size == 0:
        return SLOResult(
            verdict=Verdict.NO_DATA, estimate=None, lower=None, upper=None, n=0, **base
        )
    estimate = stats.statistic_value(vals, obj.statistic)
    lower, upper = aggregate_bounds(vals, obj.statistic, settings)
    decide = None
    if settings.gate == "point":
        verdict = Verdict.MET if obj.holds(estimate) else Verdict.BREACHED
    else:
        verdict = _bounded_verdict(lower, upper, obj)
        if verdict is not Verdict.BREACHED and vals.size < needed:
            verdict, decide = Verdict.INCONCLUSIVE, needed - int(vals.size)
    order = np.argsort(vals if obj.higher_is_better else -vals, kind="stable")
    worst = [
        {"case_id": case_ids[i], "value": float(vals[i])} for i in order[: settings.worst_cases]
    ]
    return SLOResult(
        verdict=verdict,
        estimate=estimate,
        lower=lower,
        upper=upper,
        n=int(vals.size),
        cases_to_decide=decide,
        worst_cases=worst,
        **base,
    )


def unscorable_share(r: SLOResult) -> float:
    """Share of the journey's cases this SLO could not judge."""
    total = r.n + r.n_unscorable
    return r.n_unscorable / total if total else 1.0


def under_rate(journey: Journey, rate: float | None) -> Journey:
    """The journey with the SLOs a run at ``rate`` judges (None: a run without load): an
    objective ``at R/s`` only at a load step of R requests per second, a saturation SLO only
    under load."""
    keep = tuple(
        s
        for s in journey.slos
        if not s.load_only
        or (rate is not None and (s.at_rate is None or math.isclose(s.at_rate, rate, rel_tol=1e-9)))
    )
    return journey if len(keep) == len(journey.slos) else journey.model_copy(update={"slos": keep})


def evaluate_journey(journey: Journey, columns: Columns, settings: Settings) -> list[SLOResult]:
    """Every SLO of a journey, in the suite's order. An SLO that could judge too few of the
    cases (unscorable share above ``max_unscorable_share``) is never MET: it has not measured
    the journey, whatever the remaining cases say."""
    out = []
    for spec in journey.slos:
        if spec.kind == "aggregate":
            r = evaluate_aggregate(spec, columns, journey, settings)
        else:
            r = evaluate_ratio(spec, columns, journey, settings)
        if r.verdict is Verdict.MET and unscorable_share(r) > settings.max_unscorable_share:
            r = replace(r, verdict=Verdict.INCONCLUSIVE)
        out.append(r)
    return out


def small_sample_reasons(journey: Journey, n_cases: int, settings: Settings) -> list[GateReason]:
    """Before the run: SLOs that ``n_cases`` golden cases can never prove MET, even if every
    case is good (a warning naming the count needed). A ratio target t needs n with
    n / (n + z²) >= t (the one-sided Wilson lower bound at n of n good), 25 cases for 90 % at
    95 % confidence; a quantile objective needs :func:`min_cases`. Nothing under
    ``gate: point`` (the estimate alone decides) or for ``every_case`` SLOs."""
    from cujeval.spec.results import GateReason

    if settings.gate == "point":
        return []
    out = []
    z2 = stats.z_one_sided(settings.confidence) ** 2
    for spec in journey.slos:
        if spec.load_only or spec.every_case:
            continue
        detail = None
        if spec.kind in ("ratio", "journey") and spec.target is not None:
            t = float(spec.target)
            if n_cases and n_cases / (n_cases + z2) >= t:
                continue
            if t >= 1.0:
                detail = (
                    "a target of 100 % is never proven by a confidence bound: use "
                    "'every_case: true' (each case must be good)"
                )
            else:
                need = math.ceil(t * z2 / (1.0 - t) - 1e-9)
                detail = (
                    f"{n_cases} case(s) can show at most "
                    f"{(n_cases / (n_cases + z2) if n_cases else 0.0):.1%} at "
                    f"{settings.confidence:.0%} confidence, below the target {t:.1%}: it can "
                    f"never be MET; {need} cases could prove it"
                )
        elif spec.kind == "aggregate" and spec.parsed_objective.success is None:
            need = min_cases(spec.parsed_objective.statistic, settings.confidence)
            if n_cases >= need:
                continue
            detail = (
                f"{n_cases} case(s) cannot prove {spec.objective} MET (a bound of "
                f"{spec.parsed_objective.statistic} needs {need}); only a breach can show"
            )
        if detail is not None:
            out.append(
                GateReason(
                    kind="small_sample",
                    action="warn",
                    journey=journey.name,
                    slo=spec.name,
                    detail=detail,
                )
            )
    return out
