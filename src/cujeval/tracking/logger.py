"""MLflow: one experiment per suite; a parent run per invocation and a child run per journey,
so the compare view puts two releases' journeys side by side, and every case a trace.

Parent run: the gate (tags ``cujeval.gate``, ``cujeval.exit_code``, the blocking reasons as its
description), git commit and branch, trigger; artifacts results.json, summary.md, junit.xml,
report.html, journal.jsonl, the OpenSLO export of the SLOs, budget.json, compare.* and
load.md when the run has them; for ``cujeval load``, the golden signals as ``load.*`` metrics
and the per-second series as ``load.ts.*`` metrics stepped by second (see load_metrics).
Journey run (named ``journey · VERDICT · run-id suffix``; its real start and end): params
(target, dataset digest and normalised path, scorers, epochs), the dataset as an input and as
an evaluation dataset (the experiment's Datasets tab), metrics (each SLO's estimate,
bounds, n, good, target, verdict as 0/1; each SLI's mean, p50, p95, a cost in USD also in
micro-dollars, ``sli.cost_uusd.mean``, since MLflow shows 1.5e-05 as 0; error
rate; the budget's remaining share and burn rates when known; the LLM judge's calls,
failures by reason, tokens and cost as ``judge.*``), a tag per SLO verdict, the per-case
table. Each case is a trace linked to its journey run (input, answer, retrieved contexts as
a retriever span, tool calls as tool spans, token usage, cost, latency), with each SLI as an
assessment, so MLflow's evaluation views show the run case by case.

Cost: runs, params, metrics and tags go in one ``log_batch`` per run. ``cujeval run`` calls
this from a second process (cujeval.tracking.worker) that imports MLflow and opens the store
while the suite loads; as the run starts it creates the run's MLflow runs (:func:`begin`) and
writes each finished case's trace from the journal while the cases run (cujeval.tracking.stream;
cujeval.tracking.traces): when the run ends, :func:`log` finishes the runs it began and
writes the traces still missing. Other doors log the finished folder, traces included.
Every string logged (params, tags, descriptions, traces, the artifacts' text) goes through
cujeval._util.redact first: the run's files are redacted as they are written, and what the
tracking server, the environment or a file from elsewhere adds is redacted here.
Idempotent: runs are found by ``cujeval.run_key`` before any is created, so logging a folder
twice (or a folder whose runs were begun while it ran) updates its runs instead of adding
new ones, and writes only the traces the store lacks.
``CUJEVAL_MLFLOW_TRACES=0`` turns traces off; ``CUJEVAL_MLFLOW_MAX_TRACES`` (100,000) caps
them per journey run. If the server is down nothing is lost: the files stay in the run
folder and ``cujeval log DIR`` logs them later (exit 3 while it is down).
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.spec.results import JourneyResult, RunResult
from cujeval.tracking.history import (
    JOURNEY,
    KIND,
    RUN_ID,
    RUN_KEY,
    TRIGGER,
    guard,
    key,
    parse_time_ms,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.core.budget import SLOCount
    from cujeval.spec.journal import JournalRow
    from cujeval.tracking.stream import TraceStream

__all__ = ["begin", "finish_aborted", "key", "log"]

PARENT_ARTIFACTS = (
    "results.json",
    "summary.md",
    "junit.xml",
    "report.html",
    "journal.jsonl",
    "budget.json",
    "compare.json",
    "compare.md",
    "load.md",
)
MAX_TABLE_TEXT = 500
_TABLE_TAG = "mlflow.loggedArtifacts"


def _journey_metrics(
    j: JourneyResult, counts: dict[str, SLOCount], gate_slos: Sequence[str] = ()
) -> dict[str, float]:
    m: dict[str, float] = {
        "gate.blocked_slos": float(sum(1 for s in gate_slos if s == "block")),
        "gate.met_slos": float(sum(1 for s in j.slos if s.verdict == "MET")),
        "n_rows": j.n_rows,
        "n_errors": j.n_errors,
        "error_rate": j.n_errors / j.n_rows if j.n_rows else 0.0,
        "n_scorer_errors": j.n_scorer_errors,
    }
    for slo in j.slos:
        base = f"slo.{key(slo.name)}"
        for field in ("estimate", "lower", "upper"):
            v = getattr(slo, field)
            if v is not None:
                m[f"{base}.{field}"] = float(v)
        m[f"{base}.n"] = slo.n
        m[f"{base}.met"] = float(slo.verdict == "MET")
        m[f"{base}.breached"] = float(slo.verdict == "BREACHED")
        m[f"{base}.no_data"] = float(slo.verdict == "NO_DATA")
        count = counts.get(slo.name)
        if count is not None:  # what a budget needs: cases, good cases, the target share
            m[f"{base}.n"] = count.n
            m[f"{base}.good"] = count.good
            m[f"{base}.target"] = count.target
    for sli in j.slis:
        for field in ("mean", "p50", "p95"):
            v = getattr(sli, field)
            if v is not None:
                m[f"sli.{key(sli.name)}.{field}"] = float(v)
                if sli.name.endswith("_usd"):  # MLflow shows 1.5e-05 as 0: micro-dollars too
                    m[f"sli.{key(sli.name)[:-4]}_uusd.{field}"] = float(v) * 1e6
    return {k: v for k, v in m.items() if math.isfinite(v)}


def _slo_overview(result: RunResult) -> dict[str, float]:
    """Each SLO's estimate on the invocation's run as well, ``slo/<journey>/<slo>``: MLflow's
    chart view plots the runs its table shows, the invocations, so each SLO gets a chart of
    its own there by default, run over run (the journey run keeps ``slo.<slo>.estimate`` with
    its interval and target)."""
    out: dict[str, float] = {}
    for j in result.journeys:
        for s in j.slos:
            if s.estimate is not None and math.isfinite(s.estimate):
                out[f"slo/{key(j.name)}/{key(s.name)}"] = float(s.estimate)
    return out


def _budget_metrics(journey: str, directory: Path) -> dict[str, float]:
    """The budget state the run's gate saw (budget.json), as metrics that plot across runs."""
    path = directory / "budget.json"
    if not path.exists():
        return {}
    try:
        states = json.loads(path.read_text(encoding="utf-8")).get("budgets", [])
    except (OSError, ValueError, AttributeError):
        return {}
    m: dict[str, float] = {}
    for s in states:
        if s.get("journey") != journey:
            continue
        base = f"slo.{key(str(s.get('slo')))}"  # beside the SLO's own metrics
        for name, field in (
            (f"{base}.budget_left", "remaining"),
            (f"{base}.budget_left_share", "remaining_share"),
            (f"{base}.burn_last", "burn_last"),
            (f"{base}.burn_slow", "burn_slow"),
        ):
            v = s.get(field)
            if isinstance(v, int | float) and math.isfinite(v):
                m[name] = float(v)
        m[f"{base}.budget_exhausted"] = float(bool(s.get("exhausted")))
        m[f"{base}.alert_fast"] = float("fast" in str(s.get("alert", "")))
        m[f"{base}.alert_slow"] = float("slow" in str(s.get("alert", "")))
    return m


def canary_metrics(result: RunResult, journey: str) -> dict[str, float]:
    """A same-run canary's comparison, on the candidate journey's run: per SLO the baseline
    arm's and the candidate's value, the change, and whether it regressed and blocks."""
    comparisons = result.canary.comparisons if result.canary is not None else []
    out: dict[str, float] = {}
    for c in comparisons:
        if c.get("journey") != journey:
            continue
        base = f"canary.{key(c['slo'])}"
        for name in ("baseline", "candidate", "diff", "p_value"):
            v = c.get(name)
            if isinstance(v, int | float) and math.isfinite(v):
                out[f"{base}.{name}"] = float(v)
        out[f"{base}.regressed"] = float(c.get("change") == "REGRESSED")
        out[f"{base}.blocks"] = float(bool(c.get("blocks")))
    return out


def _judge_metrics(j: JourneyResult) -> dict[str, float]:
    """The LLM judge's account of the journey (calls, failures by reason, tokens, cost,
    agreement with the offline scorer) as ``judge.*`` metrics; none without a judge."""
    if not j.judge:
        return {}
    from cujeval.scorers.judges.summary import judge_metrics

    return {k: v for k, v in judge_metrics(j.judge).items() if math.isfinite(v)}


def _case_table(rows: Iterable[JournalRow]) -> dict[str, list[Any]]:
    """One row per (case, epoch): status, answer (cut) and every SLI value but instructions'."""
    cols: dict[str, list[Any]] = {"case_id": [], "epoch": [], "status": [], "answer": []}
    slis: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):
        cols["case_id"].append(row.case_id)
        cols["epoch"].append(row.epoch)
        cols["status"].append(row.status)
        cols["answer"].append(str(row.observation.get("answer") or "")[:MAX_TABLE_TEXT])
        for name, score in row.scores.items():
            if name.startswith("instruction:"):
                continue
            slis.setdefault(name, [None] * i).append((score or {}).get("value"))
        for col in slis.values():
            if len(col) == i:
                col.append(None)
    return {**cols, **slis}


def _write_table(table: dict[str, list[Any]], path: Path) -> None:
    """The table as ``mlflow.log_table`` writes it (pandas ``split`` orient), without pandas."""
    names = list(table)
    data = [list(r) for r in zip(*(table[n] for n in names), strict=True)]
    path.write_text(json.dumps({"columns": names, "data": data}, default=str), encoding="utf-8")


def _git_branch(result: RunResult) -> str | None:
    """The branch: from CI's environment, else from git when HEAD is still the run's commit
    (a run logged later from another checkout gets no branch rather than a wrong one)."""
    for var in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME"):
        if os.environ.get(var):
            return os.environ[var]
    if not result.git_commit:
        return None
    cwd = Path(result.suite_path).parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            cwd=cwd if cwd.is_dir() else None,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(head) == 2 and head[0] == result.git_commit and head[1] != "HEAD":
        return head[1]
    return None


def _description(result: RunResult, journey: str | None = None) -> str:
    """The run's description in the MLflow UI (Markdown): the gate and why."""
    if journey is None:
        verdict = "PASSED" if result.gate.passed else "FAILED"
        head = f"**gate {verdict}** (exit {result.gate.exit_code})"
        reasons = result.gate.blocking
    else:
        action = result.gate.journeys.get(journey, "pass")
        head = (
            f"**journey {journey}: {action}** (gate {'passed' if result.gate.passed else 'failed'})"
        )
        reasons = [r for r in result.gate.blocking if r.startswith((f"{journey}/", f"{journey}:"))]
    lines = [head, ""] + [f"- blocks: {r}" for r in reasons[:30]]
    lines += [
        f"- warns: {w}"
        for w in result.gate.warnings
        if journey is None or w.startswith(f"{journey}/")
    ][:30]
    return "\n".join(lines)[:4000]


def _norm_path(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/"))


def _tags(result: RunResult) -> dict[str, str]:
    tags = {
        "cujeval.suite": result.suite,
        RUN_ID: result.run_id,
        TRIGGER: result.trigger,
        "cujeval.gate": "passed" if result.gate.passed else "failed",
        "cujeval.exit_code": str(result.gate.exit_code),
        "cujeval.status": result.status,
    }
    if result.git_commit:
        tags["mlflow.source.git.commit"] = result.git_commit
        tags["cujeval.git.commit"] = result.git_commit
    branch = _git_branch(result)
    if branch:
        tags["mlflow.source.git.branch"] = branch
        tags["cujeval.git.branch"] = branch
    return tags


def log(
    result: RunResult,
    directory: Path,
    *,
    tracking_uri: str | None = None,
    traces: bool | None = None,
    stream: TraceStream | None = None,
) -> str:
    """Log ``result`` (with the files in ``directory``); returns the parent run's id. Raises
    TrackingUnavailable (exit 3) when the server cannot be reached, ReporterError otherwise.
    ``stream``: the runs :func:`begin` created for this run and the traces written while it
    ran (the tracking worker's); the rest is written here."""
    from cujeval._util.redact import clean
    from cujeval.core.budget import slo_counts
    from cujeval.spec.journal import JournalRow, read_rows
    from cujeval.tracking import history
    from cujeval.tracking import traces as trace_log

    if traces is None:
        traces = trace_log.enabled()
    result = result.redacted()
    rows = [
        JournalRow.model_validate(clean(r.model_dump()))
        for r in read_rows(directory / result.journal)
    ]
    counts: dict[str, dict[str, SLOCount]] = {}
    for sc in slo_counts(result, rows):
        counts.setdefault(sc.journey, {})[sc.slo] = sc
    c = history.client(tracking_uri)
    start_ms = parse_time_ms(result.started_at) or int(time.time() * 1000)
    end_ms = max(parse_time_ms(result.finished_at) or start_ms, start_ms)
    now_ms = int(time.time() * 1000)
    run_key = history.run_key(result, directory)
    if stream is not None and stream.started.key != run_key:
        stream = None  # another run's
    with guard(c, f"logging run {result.run_id}", directory=directory):
        if stream is not None:
            exp_id = stream.started.exp_id
            existing: dict[str | None, str] = {None: stream.started.parent}
            existing.update(stream.started.runs)
            created = {stream.started.parent, *stream.started.runs.values()}
        else:
            exp_id = _experiment(c, result.suite)
            run_key, existing = _existing_runs(c, exp_id, run_key, result, directory)
            created = set()
        tags = {**_tags(result), RUN_KEY: run_key}
        verdict = "PASSED" if result.gate.passed else "FAILED"
        name = invocation_run_name(verdict, result.trigger, result.run_id)
        parent_id = existing.get(None)
        if parent_id is None:
            parent_id = _create(c, exp_id, name, start_ms, tags)
            created.add(parent_id)
        else:
            c.update_run(parent_id, name=name)  # begun as "running ..." or logged before
        _batch(
            c,
            parent_id,
            fresh=parent_id in created,
            params={
                "suite_path": _norm_path(result.suite_path),
                "cujeval_version": result.cujeval_version,
                "confidence": result.settings.get("confidence"),
                "epochs": result.settings.get("epochs"),
                "gate_policy": result.gate.policy,
                "price_table": json.dumps(result.price_table)[:500],
            },
            metrics={
                "gate.passed": float(result.gate.passed),
                "gate.exit_code": float(result.gate.exit_code),
                "gate.blocking": float(len(result.gate.blocking)),
                **_slo_overview(result),
            },
            tags={
                **tags,
                KIND: "invocation",
                "mlflow.note.content": _description(result),
                "cujeval.blocking": "; ".join(result.gate.blocking)[:5000],
            },
            step_ms=now_ms,
        )
        _parent_artifacts(c, parent_id, result, directory)
        if result.load:
            _load_metrics(c, parent_id, result.load.model_dump(), start_ms)
        journey_runs: dict[str, str] = {}
        for j in result.journeys:
            jrows = [r for r in rows if r.journey == j.name]
            jstart = parse_time_ms(str(getattr(j, "started_at", "") or "")) or start_ms
            jend = parse_time_ms(str(getattr(j, "finished_at", "") or "")) or end_ms
            jtags = {
                **tags,
                KIND: "journey",
                JOURNEY: j.name,
                "cujeval.journey_gate": _journey_gate(result, j),
                "mlflow.parentRunId": parent_id,
                "mlflow.runType": "genai_evaluate",
                "mlflow.note.content": _description(result, j.name),
                **{f"cujeval.verdict.{key(s.name)}": s.verdict for s in j.slos},
            }
            # a file name: a load step's journey (``j@5/s``) holds a slash
            table = f"cases_{key(j.name).replace('/', '_')}.json"
            jtags[_TABLE_TAG] = json.dumps([{"path": table, "type": "table"}])
            run_id = existing.get(j.name)
            state = (
                _journey_gate(result, j).upper() if result.status == "completed" else "INCOMPLETE"
            )
            jname = journey_run_name(j.name, state, result.run_id)
            if run_id is None:
                run_id = _create(c, exp_id, jname, jstart, jtags)
                created.add(run_id)
            else:
                c.update_run(run_id, name=jname)  # begun as "... · running · ..."
            journey_runs[j.name] = run_id
            _batch(
                c,
                run_id,
                fresh=run_id in created,
                params={
                    "journey": j.name,
                    "target": j.target[:500],
                    "dataset_path": _norm_path(j.dataset.path),
                    "dataset_digest": j.dataset.digest,
                    "dataset_cases": j.dataset.n_cases,
                    "scorers": ",".join(j.scorers)[:500],
                    "epochs": result.settings.get("epochs"),
                    "confidence": result.settings.get("confidence"),
                    "judge_model": ",".join(j.judge.models) if j.judge else None,
                },
                metrics={
                    **_journey_metrics(
                        j,
                        counts.get(j.name, {}),
                        [g.action for g in result.gate.slos if g.journey == j.name],
                    ),
                    "gate.passed": float(result.gate.journeys.get(j.name) != "block"),
                    **_budget_metrics(j.name, directory),
                    **_judge_metrics(j),
                    **canary_metrics(result, j.name),
                },
                tags=jtags,
                step_ms=now_ms,
            )
            _dataset_input(c, run_id, j)
            _evaluation_dataset(c, exp_id, j, jrows)
            with tempfile.TemporaryDirectory() as tmp:
                _write_table(_case_table(jrows), Path(tmp) / table)
                c.log_artifact(run_id, str(Path(tmp) / table))
            c.set_terminated(run_id, "FINISHED" if result.status == "completed" else "KILLED", jend)
        c.set_terminated(
            parent_id, "FINISHED" if result.status == "completed" else "KILLED", end_ms
        )
    if traces and rows:
        with guard(c, f"logging the traces of run {result.run_id}", directory=directory):
            trace_log.log_traces(
                c,
                exp_id,
                result.run_id,
                rows,
                journey_runs,
                start_ms,
                run_key=run_key,
                fresh=created,
                streamed=stream.drain() if stream is not None else None,
            )
    return parent_id


def begin(
    c: MlflowClient,
    directory: Path,
    *,
    suite: str,
    run_id: str,
    started_at: str,
    trigger: str,
    journeys: Sequence[str],
) -> TraceStream:
    """A run's MLflow runs, created as it starts (RUNNING, tagged ``cujeval.status=running``
    so no budget counts them yet), and the stream that writes its traces while its cases run.
    :func:`log` finishes them (tags, params, metrics, status, name) when the run is over, as
    it would runs it created itself."""
    from cujeval._util.redact import redact
    from cujeval.tracking import traces as trace_log
    from cujeval.tracking.history import key_of
    from cujeval.tracking.stream import Started, TraceStream

    suite, run_id = redact(suite), redact(run_id)
    run_key = key_of(suite, run_id, started_at)
    start_ms = parse_time_ms(started_at) or int(time.time() * 1000)
    base = {
        "cujeval.suite": suite,
        RUN_ID: run_id,
        TRIGGER: redact(trigger),
        RUN_KEY: run_key,
        "cujeval.status": "running",
    }
    with guard(c, f"starting run {run_id}", directory=directory):
        exp_id = _experiment(c, suite)
        _, existing = _existing_runs(c, exp_id, run_key)
        parent = existing.get(None) or _create(
            c,
            exp_id,
            invocation_run_name("running", trigger, run_id),
            start_ms,
            {**base, KIND: "invocation"},
        )
        runs = {}
        for journey in journeys:
            runs[journey] = existing.get(journey) or _create(
                c,
                exp_id,
                journey_run_name(redact(journey), "running", run_id),
                start_ms,
                {
                    **base,
                    KIND: "journey",
                    JOURNEY: redact(journey),
                    "mlflow.parentRunId": parent,
                    "mlflow.runType": "genai_evaluate",
                },
            )
    started = Started(run_key, exp_id, parent, runs, directory, start_ms, run_id)
    return TraceStream(c, started, enabled=trace_log.enabled())


def invocation_run_name(state: str, trigger: str, run_id: str) -> str:
    """The invocation's (parent) run name, short enough for the run table, which cuts names:
    ``FAILED · nightly · 3f2a1c`` (the verdict, the trigger and the run id's random suffix;
    the whole run id is its ``cujeval.run_id`` tag)."""
    return f"{state} · {trigger} · {run_id.rsplit('-', 1)[-1][:6]}"


def journey_run_name(journey: str, state: str, run_id: str) -> str:
    """What the run table and the compare view show for a journey run, e.g.
    ``faq-answer · PASSED · 3f2a1c``: two runs of one journey told apart by their verdict and
    cujeval's run id (its random suffix)."""
    return f"{journey} · {state} · {run_id.rsplit('-', 1)[-1][:6]}"


def finish_aborted(c: MlflowClient, stream: TraceStream) -> None:
    """Runs :func:`begin` created for a run that ended without being logged (the command
    died): KILLED, ``cujeval.status=aborted``, so none looks like a run still going."""
    s = stream.started
    end_ms = int(time.time() * 1000)
    for run_id in (*s.runs.values(), s.parent):
        c.set_tag(run_id, "cujeval.status", "aborted")
        c.set_terminated(run_id, "KILLED", end_ms)


def _experiment(c: MlflowClient, name: str) -> str:
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            c.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    try:
        return str(c.create_experiment(name))
    except Exception:  # created meanwhile by another process
        again = c.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


def _existing_runs(
    c: MlflowClient,
    exp_id: str,
    run_key: str,
    result: RunResult | None = None,
    directory: Path | None = None,
) -> tuple[str, dict[str | None, str]]:
    """Runs logged earlier for this run (its ``cujeval.run_key``): None → the parent, a
    journey's name → its run. A run folder logged by an older cujeval is found by the key it
    was logged under then (which hashed the journal): returns the key the runs carry."""
    keys = [run_key]
    if result is not None and directory is not None:
        from cujeval.tracking.history import legacy_run_key

        keys.append(legacy_run_key(result, directory))
    for k in keys:
        out: dict[str | None, str] = {}
        for r in c.search_runs([exp_id], filter_string=f"tags.`{RUN_KEY}` = '{k}'"):
            out.setdefault(r.data.tags.get(JOURNEY) or None, r.info.run_id)
        if out:
            return k, out
    return run_key, {}


def _create(c: MlflowClient, exp_id: str, name: str, start_ms: int, tags: dict[str, str]) -> str:
    run = c.create_run(exp_id, start_time=start_ms, tags=tags, run_name=name)
    return str(run.info.run_id)


_SERIES = ("offered_rate", "achieved_rate", "errors", "in_flight", "p50", "p95", "p99", "max")


def load_metrics(load: dict[str, Any], start_ms: int) -> list[tuple[str, float, int, int]]:
    """``cujeval load``'s golden signals as (key, value, timestamp ms, step) metrics of the
    parent run: the whole run's at step 0 (``load.offered_rate``, ``load.latency.p99``,
    ``load.saturation.<gauge>.max``, ...) and the time series, one point per window with the
    window's start in seconds as its step (``load.ts.p99``, ``load.ts.in_flight``, ...), so
    MLflow's charts plot them over the run."""
    out: list[tuple[str, float, int, int]] = []

    def add(name: str, value: Any, t_s: float = 0.0, step: int = 0) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if math.isfinite(value):
            out.append((key(name), float(value), start_ms + int(t_s * 1000), step))

    g = load.get("golden_signals") or {}
    for k, v in (g.get("traffic") or {}).items():
        add(f"load.{k}", v)
    add("load.error_rate", (g.get("errors") or {}).get("rate"))
    for kind, n in ((g.get("errors") or {}).get("by_kind") or {}).items():
        add(f"load.errors.{kind}", n)
    for k, v in (g.get("latency") or {}).items():
        add(f"load.latency.{k}", v)
    for gauge, report in (g.get("saturation") or {}).items():
        for k, v in (report or {}).items():
            add(f"load.saturation.{gauge}.{k}", v)
    knee = load.get("knee") or {}
    add("load.knee_rate", knee.get("broke_at_rate"))
    series = load.get("timeseries") or {}
    for point in series.get("points") or ():
        t = float(point.get("t") or 0.0)
        for k in _SERIES:
            add(f"load.ts.{k}", point.get(k), t, round(t))
        for gauge, v in (point.get("saturation") or {}).items():
            add(f"load.ts.saturation.{gauge}", v, t, round(t))
    return out


def _load_metrics(c: MlflowClient, run_id: str, load: dict[str, Any], start_ms: int) -> None:
    from mlflow.entities import Metric

    metrics = [Metric(k, v, ts, step) for k, v, ts, step in load_metrics(load, start_ms)]
    for i in range(0, len(metrics), 1000):
        c.log_batch(run_id, metrics=metrics[i : i + 1000])


def _batch(
    c: MlflowClient,
    run_id: str,
    *,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    step_ms: int,
    fresh: bool = False,
) -> None:
    """Params, metrics and tags in as few requests as MLflow allows (1,000 items, 100 params,
    100 tags per batch). A param logged earlier with another value (a resumed run) is kept
    and the new value goes to a ``cujeval.param.<name>`` tag: MLflow params are immutable."""
    from mlflow.entities import Metric, Param, RunTag

    from cujeval._util.redact import redact

    old = {} if fresh else c.get_run(run_id).data.params
    todo_params, more_tags = [], {}
    for k, v in params.items():
        if v is None:
            continue
        value = redact(str(v))[:6000]
        if k not in old:
            todo_params.append(Param(key(k), value))
        elif old[k] != value:
            more_tags[f"cujeval.param.{k}"] = value
    all_tags = [RunTag(k, redact(str(v))[:8000]) for k, v in {**tags, **more_tags}.items()]
    all_metrics = [Metric(key(k), float(v), step_ms, 0) for k, v in metrics.items()]
    while todo_params or all_tags or all_metrics:
        p, todo_params = todo_params[:100], todo_params[100:]
        t, all_tags = all_tags[:100], all_tags[100:]
        room = 1000 - len(p) - len(t)
        m, all_metrics = all_metrics[:room], all_metrics[room:]
        c.log_batch(run_id, metrics=m, params=p, tags=t)


def _parent_artifacts(c: MlflowClient, run_id: str, result: RunResult, directory: Path) -> None:
    from cujeval.reporters import openslo

    suite = None
    try:
        from cujeval.spec.suite import load_suite

        if Path(result.suite_path).exists():
            suite = load_suite(result.suite_path)
    except Exception:  # the suite moved or changed: export what results.json says
        suite = None
    from cujeval._util.redact import redact

    text = (
        openslo.export_suite(suite)
        if suite is not None and suite.name == result.suite
        else openslo.export_result(result)
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in PARENT_ARTIFACTS:
            if (directory / name).exists():
                c.log_artifact(run_id, str(_redacted_copy(directory / name, Path(tmp))))
        (Path(tmp) / "openslo.yaml").write_text(redact(text), encoding="utf-8")
        c.log_artifact(run_id, str(Path(tmp) / "openslo.yaml"))
        if result.canary is not None:
            from cujeval.core.compare import Report

            markdown = Report.from_dict(result.canary).to_markdown()
            (Path(tmp) / "canary.md").write_text(redact(markdown), encoding="utf-8")
            c.log_artifact(run_id, str(Path(tmp) / "canary.md"))


def _redacted_copy(path: Path, tmp: Path) -> Path:
    """``path``, or a redacted copy of it in ``tmp`` when redaction changes it: JSON value by
    value (so its structure stays), Markdown and text as text. Files of formats whose markup
    a mask could cut (HTML, XML, the journal) are written redacted in the first place."""
    from cujeval._util.redact import clean, dumps, redact

    if path.suffix not in (".json", ".md", ".txt"):
        return path
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
            new = text if clean(data) == data else dumps(data, indent=2, ensure_ascii=False)
        else:
            new = redact(text)
    except (OSError, ValueError):
        return path  # unreadable: as it is, which is what the folder holds too
    if new == text:
        return path
    (tmp / path.name).write_text(new, encoding="utf-8")
    return tmp / path.name


def _dataset_input(c: MlflowClient, run_id: str, j: JourneyResult) -> None:
    """The golden dataset as the run's input (name, digest, normalised source path)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    path = _norm_path(j.dataset.path)
    dataset = Dataset(
        name=Path(path).stem,
        digest=j.dataset.digest[:36],
        source_type="local",
        source=json.dumps({"uri": path}),
        profile=json.dumps({"num_rows": j.dataset.n_cases}),
    )
    c.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "eval")])])


def evaluation_dataset_name(j: JourneyResult) -> str:
    """The golden dataset's name under the experiment's Datasets tab: its file and content."""
    digest = j.dataset.digest.split(":")[-1][:12]
    return f"{Path(_norm_path(j.dataset.path)).stem}@{digest}"


def _evaluation_dataset(
    c: MlflowClient, exp_id: str, j: JourneyResult, rows: Sequence[JournalRow]
) -> None:
    """The golden dataset as one of MLflow's evaluation datasets, so the experiment's Datasets
    tab lists it with its cases (input, case id, tags): one per content (the digest), found by
    name and extended when a run judged more of its cases than it holds. A store that keeps
    no evaluation datasets (an older server) leaves the tab empty; the run's input stays."""
    from cujeval.tracking.history import is_down
    from cujeval.tracking.sqlrecords import add_records

    cases: dict[str, dict[str, Any]] = {}
    for row in rows:
        cases.setdefault(
            row.case_id,
            {
                "inputs": {"input": row.input},
                "tags": {
                    "case_id": row.case_id,
                    **({"tags": ",".join(row.tags)} if row.tags else {}),
                },
                "source": {
                    "source_type": "CODE",
                    "source_data": {"path": _norm_path(j.dataset.path)},
                },
            },
        )
    if not cases:
        return
    name = evaluation_dataset_name(j)
    try:
        found = list(c.search_datasets(filter_string=f"name = '{name}'", max_results=1))
        if found:
            dataset = found[0]
            if exp_id not in (dataset.experiment_ids or []):
                c.add_dataset_to_experiments(dataset.dataset_id, [exp_id])
            if int(dataset.tags.get("cujeval.cases", "0") or 0) >= len(cases):
                return
        else:
            dataset = c.create_dataset(
                name=name,
                experiment_id=exp_id,
                tags={"cujeval.dataset_digest": j.dataset.digest, "cujeval.journey": j.name},
            )
        # MlflowClient has no call for records (the entity's own goes to the global store)
        add_records(c._tracking_client.store, dataset.dataset_id, list(cases.values()))
        c.set_dataset_tags(dataset.dataset_id, {"cujeval.cases": str(len(cases))})
    except Exception as exc:
        if is_down(exc):
            raise


def _journey_gate(result: RunResult, j: JourneyResult) -> str:
    """The journey's part of the one gate decision (results.json), never recomputed."""
    return "failed" if result.gate.journeys.get(j.name) == "block" else "passed"
