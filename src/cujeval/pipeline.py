"""The one pipeline every door calls (``cujeval run``, ``demo``, ``load``, ``scenarios``, the
pytest plugin, the Python API), in this order, once:

1. **checks**: the suite, datasets, scorers, SLIs and targets (bad input: exit 2, nothing
   run); the baseline found and paired with the datasets; the budget policy; targets the
   journey's cases cannot prove MET (small-sample warnings); the budget history asked for;
2. **run**: the engine calls the targets and scores each case into the journal (the golden
   set once, :class:`cujeval.engine.run.CaseEngine`; open-loop load,
   :class:`cujeval.load.engine.LoadEngine`);
3. **verdicts**: each journey's SLOs judged from its rows;
4. **ledger**: error budgets over the history, the baseline and canary comparisons;
5. **gate**: one decision from every typed reason (cujeval.core.gate), and the exit code;
6. **reports**: results.json first, then JUnit, Markdown, HTML, the console and MLflow.

A door parses its arguments into :class:`~cujeval.spec.options.RunOptions`, calls
:func:`evaluate` and presents ``result.gate``; it never decides anything itself.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cujeval import __version__
from cujeval._util.redact import redact
from cujeval.errors import InputError
from cujeval.spec.options import RunOptions
from cujeval.spec.results import ComparisonSection, GateEntry, GateReason, RunResult

if TYPE_CHECKING:
    from cujeval.engine.execution import Execution
    from cujeval.reporters.history import History
    from cujeval.spec.suite import Settings, Suite
    from cujeval.tracking.worker import Tracking


class Planned(Protocol):
    """What an engine's checks produced, before any call: the suite as it will run, its
    settings, and how many golden cases each journey will be judged on."""

    suite: Suite
    settings: Settings

    def case_counts(self, limit: int | None) -> dict[str, int]: ...


class Engine(Protocol):
    """The run stage: checks that need the engine's view (``plan``), then the calls, the
    journal and each journey's verdicts (``execute``)."""

    name: str
    ledger: bool  # hold the run against budgets and baselines (a load step is not)

    def plan(self, suite: Suite, options: RunOptions) -> Planned: ...

    async def execute(self, planned: Any, options: RunOptions) -> Execution: ...


async def evaluate(
    suite: Suite,
    options: RunOptions,
    *,
    engine: Engine | None = None,
    tracking: Tracking | None = None,
) -> RunResult:
    """Run ``suite`` through the pipeline and return its RunResult, reports written into
    ``options.output_dir``. Bad input raises InputError (exit 2) before any call; a run that
    cannot complete returns a result whose gate exits 3, holding every case that finished.
    ``tracking`` is an MLflow worker process started early by the CLI (optional)."""
    if engine is None:
        from cujeval.engine.run import CaseEngine

        engine = CaseEngine()
    return await _evaluate(suite, options, engine, tracking)


async def _evaluate(
    suite: Suite, options: RunOptions, engine: Engine, tracking: Tracking | None
) -> RunResult:
    from cujeval.core.gate import decide, incomplete
    from cujeval.tracking import ledger

    planned = engine.plan(suite, options)
    if options.baseline and not engine.ledger:
        raise InputError(f"a {engine.name} run is judged on its own: no baseline", field="baseline")
    checks = ledger.prepare(
        suite,
        baseline=options.baseline,
        budgets=engine.ledger and (suite.budget is not None or options.mlflow),
        tracking_uri=options.tracking_uri,
        tracking=tracking,
    )
    early = pre_run_reasons(planned, options)
    if options.console:
        for reason in early:
            print(redact(f"warning: {reason.text}"), file=sys.stderr)
    _warm_imports()
    out = options.output_dir
    rid = run_id(options)
    execution = await _execute(engine, planned, options, rid, tracking)
    record = assemble(execution, options, rid)
    findings = (
        ledger.apply(checks, record, out, execution.settings)
        if engine.ledger
        else ledger.Findings()
    )
    reasons = [*early, *findings.reasons]
    if execution.abort_reason:
        reasons.append(incomplete(execution.abort_reason))
    gate = decide(record.journeys, execution.settings, reasons)
    result = record.model_copy(
        update={
            "gate": gate,
            "notes": [*record.notes, *findings.notes],
            "canary": (
                None
                if findings.canary is None
                else ComparisonSection.model_validate(findings.canary)
            ),
        }
    )
    history_note = findings.history_note
    if findings.history is None and history_note is None and engine.ledger:
        history_note = (
            "History not shown: MLflow is off for this run"
            if not options.mlflow
            else "History not shown: the run did not complete"
        )
    failures = write_reports(
        result,
        out,
        mlflow=options.mlflow,
        console=options.console,
        tracking=tracking,
        tracking_uri=options.tracking_uri,
        history=findings.history,
        history_note=history_note,
    )
    if failures:  # said on the record too: `cujeval log` can finish what MLflow missed
        result = result.model_copy(update={"notes": [*result.notes, *failures]})
        result.write(out)
    return result


async def _execute(
    engine: Engine, planned: Any, options: RunOptions, rid: str, tracking: Tracking | None
) -> Execution:
    """The run stage. With MLflow on in a worker (``cujeval run``), the golden set's run
    tells the worker when it starts, so the run's MLflow runs exist and its traces are
    written while the cases run, off the command's path (cujeval.tracking.stream)."""
    from cujeval.engine.run import CaseEngine

    if tracking is None or not options.mlflow or not isinstance(engine, CaseEngine):
        return await engine.execute(planned, options)
    worker = tracking
    journeys = [j.name for j in planned.suite.journeys]

    def started(at: str) -> None:
        worker.begin(
            options.output_dir,
            suite=planned.suite.name,
            run_id=rid,
            started_at=at,
            trigger=options.trigger,
            journeys=journeys,
        )

    return await engine.execute(planned, options, on_start=started)


def write_reports(
    result: RunResult,
    directory: Path,
    *,
    mlflow: bool = True,
    console: bool = True,
    tracking: Tracking | None = None,
    tracking_uri: str | None = None,
    history: History | None = None,
    history_note: str | None = None,
) -> list[str]:
    """results.json first (the record every other view and `cujeval log` reads), then the
    other views, each in isolation. Returns failure notes. MLflow logging goes through
    ``tracking`` (a worker process that has MLflow loaded already) when given. ``history``
    (or ``history_note``, why there is none) goes into report.html."""
    from cujeval.reporters import html, junit, markdown

    directory.mkdir(parents=True, exist_ok=True)
    result.write(directory)
    steps: list[tuple[str, Callable[[], object]]] = []
    if result.load is not None:  # before MLflow, which logs it with the rest
        from cujeval.reporters import load as load_report

        steps.append(("load", lambda: load_report.write(result, directory)))
    steps += [
        ("junit", lambda: junit.write(result, directory)),
        ("markdown", lambda: markdown.write(result, directory)),
        ("html", lambda: html.write(result, directory, history=history, note=history_note)),
    ]
    if console:
        from cujeval.reporters import console as console_reporter

        steps.append(("console", lambda: console_reporter.render(result)))
    if mlflow:

        def to_mlflow() -> None:
            from cujeval.tracking.worker import Tracking

            worker = tracking or Tracking(tracking_uri, spawn=False)
            run_id, uri = worker.log(result, directory)
            print(
                redact(f"mlflow: run {run_id} in experiment {result.suite!r} at {uri}"),
                file=sys.stderr,
            )

        steps.append(("mlflow", to_mlflow))
    failures = []
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one reporter must not lose the run
            note = f"{name} reporter failed: {type(exc).__name__}: {str(exc)[:300]}"
            if name == "mlflow":
                note += (
                    f"; results are on disk in {directory}: "
                    f"log them later with `cujeval log {directory}`"
                )
            failures.append(note)
            print(redact(f"warning: {note}"), file=sys.stderr)
    return failures


def evaluate_sync(
    suite: Suite,
    options: RunOptions,
    *,
    engine: Engine | None = None,
    tracking: Tracking | None = None,
) -> RunResult:
    """:func:`evaluate` for scripts: runs its own event loop. Inside a running loop (Jupyter,
    pytest-asyncio), ``await evaluate(...)`` instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(evaluate(suite, options, engine=engine, tracking=tracking))
    raise RuntimeError(
        "evaluate_sync() was called from a running event loop: await evaluate() instead"
    )


def pre_run_reasons(planned: Planned, options: RunOptions) -> list[GateReason]:
    """Targets the journeys' case counts cannot prove MET, warned about before the run."""
    from cujeval.core.slo import small_sample_reasons

    counts = planned.case_counts(options.limit)
    out: list[GateReason] = []
    for journey in planned.suite.journeys:
        n = counts.get(journey.name)
        if n is not None:
            out += small_sample_reasons(journey, n, planned.settings)
    return out


def run_id(options: RunOptions) -> str:
    """Unique per invocation: the output folder's name (readable) and a random suffix, so two
    runs into folders of one name (``-o reports/pr`` on every pull request) never share an id.
    A resumed run keeps the id it started with."""
    out = options.output_dir
    if options.resume and (out / "results.json").exists():
        try:
            return RunResult.read(out / "results.json").run_id
        except (OSError, ValueError):
            pass
    return f"{out.name}-{secrets.token_hex(3)}"


_UNDECIDED = GateEntry(passed=False, exit_code=3, policy="undecided")


def assemble(execution: Execution, options: RunOptions, rid: str) -> RunResult:
    """The run's record from what the engine returned; the gate is decided after the ledger
    (until then it reads as undecided, which never passes)."""
    suite = execution.suite
    return RunResult(
        run_id=rid,
        suite=suite.name,
        suite_path=str(suite.path),
        started_at=execution.started,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        status="aborted" if execution.abort_reason else "completed",
        abort_reason=execution.abort_reason,
        cujeval_version=__version__,
        git_commit=git_commit(suite.path.parent.resolve()),
        trigger=options.trigger,
        settings=execution.settings.model_dump(),
        price_table=execution.price_table,
        journeys=execution.journeys,
        gate=_UNDECIDED,
        notes=execution.notes,
        load=execution.load,
    )


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# Needed only once the calls are done (verdicts, reports): imported on a thread while the first
# calls are in flight, so their import time hides behind the endpoint's latency.
_LATER: Sequence[str] = (
    "numpy",
    "cujeval.core.slo",
    "cujeval.core.gate",
    "cujeval.reporters.console",
    "cujeval.reporters.junit",
    "cujeval.reporters.markdown",
    "cujeval.reporters.html",
)


def _warm_imports() -> None:
    import importlib
    import threading

    def work() -> None:
        for name in _LATER:
            try:
                importlib.import_module(name)
            except Exception:  # the caller imports it again and meets the error there
                return

    threading.Thread(target=work, name="cujeval-imports", daemon=True).start()


# the public names of the API (``cujeval.run`` is ``evaluate``)
run = evaluate
run_sync = evaluate_sync

__all__ = ["Engine", "assemble", "evaluate", "evaluate_sync", "run", "run_id", "run_sync"]
