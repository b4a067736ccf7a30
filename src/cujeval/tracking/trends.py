"""A suite's history gathered for the pictures (cujeval.reporters.history): each SLO's estimate
and interval per run from the journey runs' metrics (one search, as budgets read them), each
budget's runs, and the last comparison with a baseline logged with a run.

:func:`read` is ``cujeval report``'s (MLflow is read here); :func:`build` also serves a run's
report.html, from the history the ledger has read already plus the run itself, so the report
costs the run no request of its own.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.reporters.history import Burn, History, Trend
from cujeval.reporters.svg import Mark, Spend
from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy
from cujeval.spec.predicates import parse_objective
from cujeval.tracking.history import (
    KIND,
    RUN_ID,
    JourneyRecord,
    budget_counts,
    client,
    guard,
    key,
    read_journeys,
    shown_uri,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import SLOSpec, Suite

COMPARISON_LOOKBACK = 10  # newest invocations searched for a logged comparison


def read(suite: Suite, *, tracking_uri: str | None = None) -> History:
    """The suite's history as MLflow holds it (TrackingUnavailable when it is unreachable,
    ReporterError when it cannot be read)."""
    policy = suite.budget or DEFAULT_POLICY
    c = client(tracking_uri)
    records = read_journeys(c, suite.name, trigger=policy.trigger, runs=policy.window)
    history = build(suite, records, source=f"MLflow at {shown_uri(c)}", policy=policy)
    if records:
        found = last_comparison(c, suite.name)
        if found is not None:
            history.comparison, history.comparison_run = found
    return history


def build(
    suite: Suite,
    records: list[JourneyRecord],
    *,
    source: str,
    policy: BudgetPolicy | None = None,
    current: RunResult | None = None,
    current_rows: list[JournalRow] | None = None,
    current_key: str | None = None,
    count_current: bool = True,
) -> History:
    """The pictures' data from journey runs (oldest first) and, when given, the run being
    reported (``current``, the newest; a logged run with key ``current_key`` is that run;
    ``count_current``: it counts in the budgets, as the ledger decided)."""
    policy = policy or suite.budget or DEFAULT_POLICY
    past = [r for r in records if current_key is None or r.key != current_key]
    keys = {r.key for r in past}
    history = History(
        suite=suite.name,
        source=source,
        runs=len(keys) + (current is not None),
        policy=policy,
    )
    now = {}
    if current is not None:
        now = {(j.name, s.name): s for j in current.journeys for s in j.slos}
    for j in suite.journeys:
        mine = [r for r in past if r.journey == j.name]
        for slo in j.slos:
            marks = [_mark(r, slo.name) for r in mine]
            entry = now.get((j.name, slo.name))
            if current is not None and entry is not None:
                marks.append(
                    Mark(
                        label=current.run_id,
                        when=_when_iso(current.started_at),
                        estimate=entry.estimate,
                        lower=entry.lower,
                        upper=entry.upper,
                        verdict=entry.verdict,
                        current=True,
                    )
                )
            if not marks:
                continue
            target, share = _target(slo)
            history.trends.append(Trend(j.name, slo.name, _objective(slo), target, share, marks))
    for journey, slo_name, target, counts in budget_counts(
        suite,
        records,
        policy=policy,
        current=current if count_current else None,
        current_rows=current_rows,
        current_key=current_key,
    ):
        from cujeval.core.budget import compute

        window = [c for c in counts if c.n > 0][-policy.window :]
        if not window:
            continue
        state = compute(journey, slo_name, target, counts, policy, float(suite.settings.confidence))
        spends = [Spend(c.run_id, _when_iso(c.started), c.n, c.bad) for c in window]
        history.burns.append(Burn(state, spends))
    return history


def _mark(r: JourneyRecord, slo: str) -> Mark:
    base = f"slo.{key(slo)}"
    m = r.metrics
    if m.get(f"{base}.met"):
        verdict = "MET"
    elif m.get(f"{base}.breached"):
        verdict = "BREACHED"
    elif m.get(f"{base}.no_data"):
        verdict = "NO_DATA"
    else:
        verdict = "INCONCLUSIVE" if f"{base}.met" in m else "NO_DATA"
    return Mark(
        label=r.run_id,
        when=datetime.fromtimestamp(r.started_ms / 1000).strftime("%Y-%m-%d %H:%M"),
        estimate=m.get(f"{base}.estimate"),
        lower=m.get(f"{base}.lower"),
        upper=m.get(f"{base}.upper"),
        verdict=verdict,
    )


def _when_iso(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return iso


def _target(slo: SLOSpec) -> tuple[float | None, bool]:
    """The line the estimates are held against, and whether they are shares."""
    if slo.objective is None:
        return slo.target, True
    try:
        return parse_objective(slo.objective).bound, False
    except ValueError:
        return None, False


def _objective(slo: SLOSpec) -> str:
    if slo.objective is not None:
        return slo.objective
    what = slo.good or ("all of " + ", ".join(slo.all_of or ()))
    return f"{what} in ≥ {100 * (slo.target or 0):.1f} % of cases"


def last_comparison(c: MlflowClient, suite: str) -> tuple[dict[str, Any], str] | None:
    """The newest comparison logged with one of the suite's runs (``--baseline`` writes
    compare.json into the run; ``cujeval compare`` logs compare/<baseline>/ to the
    candidate), and the cujeval id of that run."""
    with guard(c, f"looking for the last comparison of suite {suite!r}"):
        exp = c.get_experiment_by_name(suite)
        if exp is None:
            return None
        runs = c.search_runs(
            [exp.experiment_id],
            filter_string=f"tags.`{KIND}` = 'invocation'",
            order_by=["attributes.start_time DESC"],
            max_results=COMPARISON_LOOKBACK,
        )
        for r in runs:
            rid = r.info.run_id
            names = {f.path: f.is_dir for f in c.list_artifacts(rid)}
            paths = ["compare.json"] if "compare.json" in names else []
            if names.get("compare"):
                paths += [
                    f"{f.path}/compare.json" for f in c.list_artifacts(rid, "compare") if f.is_dir
                ]
            for path in paths:
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        got = Path(c.download_artifacts(rid, path, tmp))
                        doc = json.loads(got.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        continue
                if isinstance(doc, dict) and "comparisons" in doc:
                    return doc, str(r.data.tags.get(RUN_ID, rid))
    return None
