"""A finished run held against its history before any reporter reads it: the error budgets
over the last runs (from MLflow) and, with ``--baseline``, the paired comparison. What blocks
(an exhausted budget under the suite's ``budget:`` policy, a regression beyond the allowed
drop) is folded into the one gate decision with :func:`cujeval.gate.amend`.

Files written into the run folder for the reporters (and ``cujeval log`` later):
``budget.json`` (every budget's state, logged as metrics so it plots across runs) and
``compare.json`` / ``compare.md`` (the comparison; the Markdown is a pull-request comment).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cujeval.budget import DEFAULT_POLICY
from cujeval.errors import SuiteError

if TYPE_CHECKING:
    from cujeval.budget import BudgetPolicy, BudgetState
    from cujeval.history import LoadedRun
    from cujeval.journal import JournalRow
    from cujeval.results import RunResult
    from cujeval.suite import Suite
    from cujeval.tracking import Tracking

FILES = ("budget.json", "compare.json", "compare.md")


@dataclass
class Checks:
    """What to hold a run against, settled before it starts."""

    suite: Suite
    baseline: LoadedRun | None
    budgets: bool  # read the history and record the budgets' state
    tracking_uri: str | None = None
    tracking: Tracking | None = None  # MLflow in a second process, when one was started


def prepare(
    suite: Suite,
    *,
    baseline: str | None,
    mlflow: bool,
    tracking_uri: str | None = None,
    tracking: Tracking | None = None,
) -> Checks:
    """Before the run: the baseline is found and read (bad input → exit 2, MLflow down →
    exit 3, in both cases before any call to the target) and the policy checked. With a
    ``tracking`` worker, the budget history is asked for now and read while the run goes on."""
    policy = suite.budget
    if policy is not None:
        known = {f"{j.name}/{s.name}" for j in suite.journeys for s in j.slos}
        known |= {s.name for j in suite.journeys for s in j.slos}
        for name in policy.slos:
            if name not in known:
                raise SuiteError(
                    f"names SLO {name!r}, which no journey has (SLOs: "
                    f"{', '.join(sorted(k for k in known if '/' in k))})",
                    file=suite.path,
                    field=f"budget.slos.{name}",
                )
    loaded = None
    if baseline:
        from cujeval.history import load_run

        loaded = load_run(baseline, tracking_uri=tracking_uri)
    budgets = policy is not None or mlflow
    if budgets and tracking is not None:
        window = policy or DEFAULT_POLICY
        tracking.prefetch_journeys(suite.name, trigger=window.trigger, runs=window.window)
    return Checks(suite, loaded, budgets, tracking_uri=tracking_uri, tracking=tracking)


def apply(checks: Checks, result: RunResult, directory: Path) -> RunResult:
    """The run's budgets and baseline comparison, their files, and the amended gate."""
    from cujeval.gate import amend
    from cujeval.journal import read_rows

    for name in FILES:  # an earlier run into this folder must not look current
        (directory / name).unlink(missing_ok=True)
    if result.status != "completed" or not (checks.budgets or checks.baseline is not None):
        return result
    rows = list(read_rows(directory / result.journal))
    reasons: list[str] = []
    notes: list[str] = []
    if checks.budgets:
        reasons += _budgets(checks, result, rows, directory, notes)
    if checks.baseline is not None:
        reasons += _baseline(checks, checks.baseline, result, rows, directory)
    if notes:
        result = result.model_copy(update={"notes": [*result.notes, *notes]})
    return amend(result, reasons)


def _budgets(
    checks: Checks, result: RunResult, rows: list[JournalRow], directory: Path, notes: list[str]
) -> list[str]:
    from cujeval.errors import ReporterError
    from cujeval.history import (
        TrackingUnavailable,
        budget_states,
        client,
        read_journeys,
        run_key,
    )

    suite = checks.suite
    policy = suite.budget or DEFAULT_POLICY
    counted = policy.trigger is None or policy.trigger == result.trigger
    try:
        if checks.tracking is not None:
            records = checks.tracking.read_journeys(
                suite.name, trigger=policy.trigger, runs=policy.window
            )
        else:
            records = read_journeys(
                client(checks.tracking_uri), suite.name, trigger=policy.trigger, runs=policy.window
            )
    except (TrackingUnavailable, ReporterError) as exc:
        note = f"error budgets not checked: {exc}"
        print(f"warning: {note}", file=sys.stderr)
        notes.append(note)
        if suite.budget is not None and suite.budget.history_unavailable == "block":
            return [f"{j.name}: error budget unknown (history unavailable)" for j in suite.journeys]
        return []
    states = budget_states(
        suite,
        records,
        policy=policy,
        current=result if counted else None,
        current_rows=rows if counted else None,
        current_key=run_key(result, directory),
    )
    write_budget(directory, states, policy, counted=counted)
    for s in states:
        if s.exhausted or s.alert != "none":
            print(f"budget: {describe(s)}", file=sys.stderr)
    if suite.budget is None or not suite.budget.block_exhausted:
        return []
    return [
        f"{s.journey}/{s.slo} error budget exhausted: {s.bad:g} bad of {s.budget:.3g} allowed "
        f"over the last {s.runs} run(s)"
        + (f"; most spent by run {s.worst.run_id}" if s.worst else "")
        for s in states
        if s.exhausted
    ]


def describe(s: BudgetState) -> str:
    left = f"{s.remaining_share:.0%}" if s.remaining_share is not None else "n/a"
    state = "EXHAUSTED" if s.exhausted else f"{left} left"
    return (
        f"{s.journey}/{s.slo} {state} ({s.bad:g} bad of {s.budget:.3g} allowed over "
        f"{s.runs} run(s)); burn {s.burn_last:.2f} last run, {s.burn_slow:.2f} over "
        f"{s.slow_runs}; alert {s.alert}"
    )


def write_budget(
    directory: Path, states: list[BudgetState], policy: BudgetPolicy, *, counted: bool
) -> Path:
    path = directory / "budget.json"
    doc = {
        "policy": policy.model_dump(),
        "this_run_counted": counted,
        "budgets": [s.to_dict() for s in states],
    }
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def _baseline(
    checks: Checks,
    baseline: LoadedRun,
    result: RunResult,
    rows: list[JournalRow],
    directory: Path,
) -> list[str]:
    from cujeval.compare import compare_runs
    from cujeval.history import LoadedRun

    candidate = LoadedRun(result, rows, "this run", directory=directory)
    report = compare_runs(baseline, candidate, suite=checks.suite)
    report.write(directory)
    print(report.to_text())
    return report.reasons()
