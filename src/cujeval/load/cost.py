"""Cost per successful journey under load: the SLI summed over every case, failures included,
divided by the cases good by the success SLO (a journey-success SLO by default)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cujeval.core.aggregate import Columns

if TYPE_CHECKING:
    from cujeval.spec.suite import Journey, SLOSpec


def success_spec(journey: Journey, name: str | None) -> SLOSpec | None:
    """The SLO whose good cases count as successful journeys: ``name``, else the first
    journey-success (``all_of``) SLO, else None (every ratio SLO together)."""
    if name is not None:
        for s in journey.slos:
            if s.name == name and s.kind != "aggregate":
                return s
        from cujeval.errors import UnknownNameError

        ratio = [s.name for s in journey.slos if s.kind != "aggregate"]
        raise UnknownNameError("ratio or journey SLO", name, ratio, field="--success-slo")
    for s in journey.slos:
        if s.kind == "journey":
            return s
    return None


def success_rows(columns: Columns, journey: Journey, spec: SLOSpec | None) -> list[bool]:
    """Per row: the journey succeeded, by the rule of cujeval.core.slo for a journey SLO: every
    step's predicate good where scorable; a step the row could not be scored on is bad when the
    target failed or the step says ``unscorable: bad``; a row no step could judge is not a
    success."""
    import numpy as np

    if spec is not None and spec.kind == "ratio":
        steps = [spec]
    elif spec is not None:
        steps = [s for s in journey.slos if s.name in (spec.all_of or ())]
    else:
        steps = [s for s in journey.slos if s.kind == "ratio"]
    n = len(columns)
    ok = columns.ok_mask()
    valid = np.zeros(n, dtype=bool)
    good = np.ones(n, dtype=bool)
    for step in steps:
        pred = step.predicate
        col = columns.column(pred.sli)
        scorable = ~np.isnan(col)
        passed = np.zeros(n, dtype=bool)
        passed[scorable] = [pred(v) for v in col[scorable]]
        counts_bad = ~scorable & (~ok | (step.unscorable == "bad"))
        valid |= scorable | counts_bad
        good &= np.where(scorable, passed, ~counts_bad)
    return [bool(x) for x in (good & valid)]


def cost_per_success(
    columns: Columns,
    journey: Journey,
    spec: SLOSpec | None,
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Total target cost ÷ successful journeys over the scored rows, with a percentile
    bootstrap interval that resamples golden cases (the case is the unit of evidence)."""
    import numpy as np

    name = spec.name if spec is not None else "all ratio SLOs"
    out: dict[str, Any] = {"success_slo": name, "n_rows": len(columns)}
    if "cost_usd" not in columns.values:
        out["note"] = "no cost_usd SLI: add the cost_usd scorer to the journey"
        return out
    cost = np.nan_to_num(columns.column("cost_usd"), nan=0.0)
    priced = int((~np.isnan(columns.column("cost_usd"))).sum())
    success = np.array(success_rows(columns, journey, spec), dtype=float)
    codes, ids = columns.case_codes()
    total, wins = float(cost.sum()), int(success.sum())
    out.update(
        total_cost_usd=total,
        priced_rows=priced,
        successes=wins,
        success_share=wins / len(columns) if len(columns) else None,
        cost_per_success_usd=total / wins if wins else None,
    )
    if not wins:
        out["note"] = "no successful journey: cost per success is unbounded"
        return out
    by_cost = np.bincount(codes, weights=cost, minlength=len(ids))
    by_win = np.bincount(codes, weights=success, minlength=len(ids))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(resamples, len(ids)))
    costs, winners = by_cost[draws].sum(axis=1), by_win[draws].sum(axis=1)
    ratios = np.sort(np.where(winners > 0, costs / np.maximum(winners, 1), np.inf))
    tail = (1.0 - confidence) / 2.0
    lo = float(ratios[math.floor(tail * (resamples - 1))])
    hi = float(ratios[math.ceil((1.0 - tail) * (resamples - 1))])
    out["interval"] = [lo, hi if math.isfinite(hi) else None]  # None: resamples without success
    out["confidence"] = confidence
    return out
