"""The ledger stage of the pipeline: a finished run held against its history before the gate
is decided: the error budgets over the last runs (from MLflow), the paired comparison with a
baseline (``--baseline``) and a same-run canary's comparison of its two arms. What it finds
comes back as typed gate reasons (cujeval.spec.results.GateReason); the pipeline decides the gate
once, with them.

Files written into the run folder for the reporters (and ``cujeval log`` later):
``budget.json`` (every budget's state, logged as metrics so it plots across runs) and
``compare.json`` / ``compare.md`` (the comparison; the Markdown is a pull-request comment).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval._util.redact import redact
from cujeval.errors import InputError, SuiteError
from cujeval.spec.budget import DEFAULT_POLICY
from cujeval.spec.results import GateReason

if TYPE_CHECKING:
    from cujeval.core.budget import BudgetState
    from cujeval.reporters.history import History
    from cujeval.spec.budget import BudgetPolicy
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Settings, Suite
    from cujeval.tracking.history import LoadedRun
    from cujeval.tracking.worker import Tracking

FILES = ("budget.json", "compare.json", "compare.md")


@dataclass
class Checks:
    """What to hold a run against, settled before it starts."""

    suite: Suite
    baseline: LoadedRun | None
    budgets: bool  # read the history and record the budgets' state
    tracking_uri: str | None = None
    tracking: Tracking | None = None  # MLflow in a second process, when one was started


@dataclass
class Findings:
    """What the ledger found: reasons for the gate, notes for the reports, the canary's
    comparison (results.json's ``canary``), the history report.html draws (or why not)."""

    reasons: list[GateReason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    canary: dict[str, Any] | None = None
    history: History | None = None
    history_note: str | None = None


def prepare(
    suite: Suite,
    *,
    baseline: str | None,
    budgets: bool,
    tracking_uri: str | None = None,
    tracking: Tracking | None = None,
) -> Checks:
    """Before the run: the budget policy checked, the baseline found, read and paired with
    the datasets (bad input → exit 2, MLflow down → exit 3, in both cases before any call to
    the target). ``budgets``: read the history and record the budgets' state (with MLflow on,
    or a ``budget:`` policy). With a ``tracking`` worker, the budget history is asked for now
    and read while the run goes on."""
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
        from cujeval.tracking.history import load_run

        loaded = load_run(baseline, tracking_uri=tracking_uri)
        _check_pairs(suite, loaded)
    if budgets and tracking is not None:
        window = policy or DEFAULT_POLICY
        tracking.prefetch_journeys(suite.name, trigger=window.trigger, runs=window.window)
    return Checks(suite, loaded, budgets, tracking_uri=tracking_uri, tracking=tracking)


def _check_pairs(suite: Suite, baseline: LoadedRun) -> None:
    """A baseline that shares no journey and case id with the suite compares nothing: bad
    input, before any call."""
    from cujeval.spec.dataset import iter_cases

    ids: dict[str, set[str]] = {}
    for row in baseline.rows:
        ids.setdefault(row.journey, set()).add(row.case_id)
    for journey in suite.journeys:
        theirs = ids.get(journey.name)
        path = suite.dataset_path(journey)
        if theirs and path.exists() and any(c.id in theirs for c in iter_cases(path)):
            return
    raise InputError(
        f"baseline {baseline.label} shares no case with this suite's journeys "
        f"({', '.join(j.name for j in suite.journeys)}): nothing would be compared",
        field="--baseline",
    )


def apply(checks: Checks, record: RunResult, directory: Path, settings: Settings) -> Findings:
    """The run's budgets, baseline and canary comparisons, their files, and what they do to
    the gate. Nothing for an incomplete run: it exits 3 whatever its history says."""
    from cujeval.spec.journal import read_rows

    for name in FILES:  # an earlier run into this folder must not look current
        (directory / name).unlink(missing_ok=True)
    found = Findings()
    if record.status != "completed":
        return found
    wanted = checks.budgets or checks.baseline is not None or record_has_canary(checks.suite)
    if not wanted:
        return found
    rows = list(read_rows(directory / record.journal))
    if checks.budgets:
        _budgets(checks, record, rows, directory, found)
    if checks.baseline is not None:
        _baseline(checks, checks.baseline, record, rows, directory, settings, found)
    _canary(checks.suite, record, rows, settings, found)
    if found.history is not None and (directory / "compare.json").exists():
        import json

        try:  # this run's comparison with its baseline is the last one
            doc = json.loads((directory / "compare.json").read_text(encoding="utf-8"))
            found.history.comparison, found.history.comparison_run = doc, record.run_id
        except (OSError, ValueError):
            pass
    return found


def record_has_canary(suite: Suite) -> bool:
    return any(j.baseline_target is not None for j in suite.journeys)


def _budgets(
    checks: Checks, record: RunResult, rows: list[JournalRow], directory: Path, found: Findings
) -> None:
    from cujeval.errors import ReporterError
    from cujeval.tracking.history import (
        TrackingUnavailable,
        budget_states,
        client,
        read_journeys,
        run_key,
    )

    suite = checks.suite
    policy = suite.budget or DEFAULT_POLICY
    counted = policy.trigger is None or policy.trigger == record.trigger
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
        print(redact(f"warning: {note}"), file=sys.stderr)
        found.notes.append(note)
        found.history_note = f"History not shown: {_short(exc)}"
        if suite.budget is not None:
            action = "block" if suite.budget.on_unavailable == "block" else "warn"
            found.reasons += [
                GateReason(
                    kind="budget_unknown",
                    action=action,
                    journey=j.name,
                    detail=f"the budget history cannot be read ({_short(exc)})",
                )
                for j in suite.journeys
            ]
        return
    states = budget_states(
        suite,
        records,
        policy=policy,
        current=record if counted else None,
        current_rows=rows if counted else None,
        current_key=run_key(record, directory),
    )
    write_budget(directory, states, policy, counted=counted)
    found.history = _history(checks, records, record, rows, directory, counted)
    for s in states:
        if s.exhausted or s.alert != "none":
            print(redact(f"budget: {describe(s)}"), file=sys.stderr)
    if suite.budget is None:
        return  # no policy: the budgets are recorded, not enforced
    action = "block" if suite.budget.block_exhausted else "warn"
    found.reasons += [
        GateReason(
            kind="budget_exhausted",
            action=action,
            journey=s.journey,
            slo=s.slo,
            detail=f"{s.bad:g} bad of {s.budget:.3g} allowed over the last {s.runs} run(s)"
            + (f"; most spent by run {s.worst.run_id}" if s.worst else ""),
        )
        for s in states
        if s.exhausted
    ]


def _history(
    checks: Checks,
    records: list[Any],
    record: RunResult,
    rows: list[JournalRow],
    directory: Path,
    counted: bool,
) -> History | None:
    """The history report.html draws: what was read for the budgets, and this run."""
    from cujeval.tracking.history import run_key, shown_tracking_uri
    from cujeval.tracking.trends import build

    try:
        history = build(
            checks.suite,
            records,
            source=f"MLflow at {shown_tracking_uri(checks.tracking_uri)}",
            current=record,
            current_rows=rows,
            current_key=run_key(record, directory),
            count_current=counted,
        )
    except Exception as exc:  # a picture must not cost the run its gate
        print(redact(f"warning: history not drawn: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return None
    return history


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:199] + "…"


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
    from cujeval._util.redact import dumps

    path.write_text(dumps(doc, indent=2), encoding="utf-8")
    return path


def _baseline(
    checks: Checks,
    baseline: LoadedRun,
    record: RunResult,
    rows: list[JournalRow],
    directory: Path,
    settings: Settings,
    found: Findings,
) -> None:
    from cujeval.core.compare import compare_runs
    from cujeval.tracking.history import LoadedRun

    candidate = LoadedRun(record, rows, "this run", directory=directory)
    try:
        report = compare_runs(baseline, candidate, suite=checks.suite)
    except InputError as exc:  # the cases this run judged pair with none of the baseline's
        found.reasons.append(
            GateReason(kind="comparison_inconclusive", action="block", detail=exc.message)
        )
        return
    report.write(directory)
    print(redact(report.to_text()))
    found.reasons += report.gate_reasons(strict=settings.strict)


def _canary(
    suite: Suite, record: RunResult, rows: list[JournalRow], settings: Settings, found: Findings
) -> None:
    """A canary journey's paired comparison with its baseline arm (cujeval.engine.canary)."""
    from cujeval.engine.canary import compare_arms, with_arms

    report = compare_arms(with_arms(suite), rows, settings, record.run_id)
    if report is None:
        return
    found.canary = report.to_dict()
    found.reasons += report.gate_reasons(strict=settings.strict)
