"""History read back from a real MLflow server: several runs of a small suite, some with
faults, logged and read back; budgets, burn rates, alerts and baseline verdicts checked
against values worked out by hand; traces, dataset inputs and idempotent logging.

The target fails the questions whose number is a multiple of ``every`` (HTTP 500, no
retries): of 20 questions (0..19), every=100 fails 1 (question 0), every=2 fails 10.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import cujeval, write_suite

from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.results import RunResult
from cujeval.spec.suite import load_suite
from cujeval.tracking.history import budget_states, client, load_run, read_journeys
from cujeval.tracking.logger import log

N = 20


@dataclass
class History:
    name: str
    root: Path
    base_url: str
    uri: str
    runs: dict[str, Path]  # label -> run folder
    parents: dict[str, str]  # label -> MLflow parent run id

    def suite(self, every: int, budget: dict[str, Any] | None = None) -> Path:
        return make_suite(self.root / f"suite-{every}-{uuid.uuid4().hex[:6]}", self, every, budget)


def make_suite(directory: Path, h: History, every: int, budget: dict[str, Any] | None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = write_suite(
        directory, url=f"{h.base_url}/some/500?every={every}", n=N, settings={"retries": 0}
    )
    doc = yaml.safe_load(path.read_text())
    doc["name"] = h.name
    if budget is not None:
        doc["budget"] = budget
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_and_log(h: History, label: str, every: int, trigger: str = "manual") -> None:
    out = h.root / "runs" / label
    suite = load_suite(h.suite(every))
    result = evaluate_sync(
        suite, RunOptions(output_dir=out, progress=False, mlflow=False, trigger=trigger)
    )
    h.runs[label] = out
    h.parents[label] = log(result, out, tracking_uri=h.uri)


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory,
    fault_server: tuple[str, Any],
    mlflow_server: str,
) -> Iterator[History]:
    h = History(
        name=f"hist-{uuid.uuid4().hex[:8]}",
        root=tmp_path_factory.mktemp("history"),
        base_url=fault_server[0],
        uri=mlflow_server,
        runs={},
        parents={},
    )
    run_and_log(h, "r1", every=100)  # 1 bad of 20
    run_and_log(h, "r2", every=2)  # 10 bad of 20: the faulted run
    run_and_log(h, "r3", every=100, trigger="nightly")  # 1 bad of 20
    yield h


def run_id(h: History, label: str) -> str:
    return RunResult.read(h.runs[label]).run_id


def states(h: History, **kw: Any) -> dict[str, Any]:
    suite = load_suite(h.suite(100))
    records = read_journeys(client(h.uri), h.name, trigger=kw.pop("trigger", None))
    return {s.slo: s for s in budget_states(suite, records, **kw)}


def test_budget_read_back_matches_hand_values(history: History) -> None:
    s = states(history)["no-errors"]  # target 0.9
    assert s.runs == 3 and s.cases == 60 and s.bad == 12
    assert s.budget == pytest.approx(6.0) and s.remaining == pytest.approx(-6.0)
    assert s.exhausted
    assert s.burn_last == pytest.approx(0.5)  # r3: (1/20) / 0.1
    assert s.burn_slow == pytest.approx(2.0)  # (12/60) / 0.1
    assert s.slow and not s.fast
    assert s.worst is not None and s.worst.run_id == run_id(history, "r2")
    assert s.worst.mlflow_run_id is not None
    # p95(latency_s) <= 5 as a budget: 95 % of cases at most 5 s; all are
    fast = states(history)["fast"]
    assert fast.target == pytest.approx(0.95) and fast.bad == 0
    assert fast.cases == 60 - 12  # a failed call has no latency to judge


def test_trigger_filters_the_window(history: History) -> None:
    s = states(history, trigger="nightly")["no-errors"]
    assert s.runs == 1 and s.cases == 20 and s.bad == 1
    assert s.budget == pytest.approx(2.0) and s.remaining_share == pytest.approx(0.5)
    assert not s.exhausted and s.worst is not None and s.worst.run_id == run_id(history, "r3")


def test_the_current_run_counts_as_the_newest(history: History) -> None:
    from cujeval.spec.journal import read_rows

    current = RunResult.read(history.runs["r2"]).model_copy(update={"run_id": "now"})
    rows = list(read_rows(history.runs["r2"] / "journal.jsonl"))
    s = states(history, current=current, current_rows=rows)["no-errors"]
    assert s.runs == 4 and s.bad == 22 and s.last is not None and s.last.run_id == "now"
    assert s.fast  # 10 of 20 bad spends 10 of a budget of 8; lower bound 0.33 > 0.1


def test_baseline_verdicts_from_mlflow(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from cujeval.core.compare import compare_runs

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    a = load_run(history.parents["r1"], tracking_uri=history.uri)
    b = load_run(history.parents["r2"], tracking_uri=history.uri)
    assert a.result.run_id == run_id(history, "r1") and len(a.rows) == N
    assert not list(tmp_path.glob("cujeval-run-*"))  # the downloads leave nothing behind
    report = compare_runs(a, b)
    c = {x.slo: x for x in report.comparisons}
    assert c["no-errors"].change == "REGRESSED" and c["no-errors"].blocks
    assert (c["no-errors"].worse, c["no-errors"].better) == (9, 0)
    assert c["no-errors"].p_value == pytest.approx(2 * 0.5**9)
    assert report.exit_code == 1
    same = compare_runs(a, load_run(str(history.runs["r1"] / "results.json")))
    # a run against itself: nothing changed, but too few pairs to rule out the allowed drop
    assert {x.change for x in same.comparisons} == {"INCONCLUSIVE"} and same.exit_code == 0


def test_journey_runs_carry_traces_inputs_and_tags(history: History) -> None:
    c = client(history.uri)
    parent = c.get_run(history.parents["r1"])
    assert parent.data.tags["cujeval.kind"] == "invocation"
    assert parent.data.tags["cujeval.trigger"] == "manual"
    artifacts = {a.path for a in c.list_artifacts(parent.info.run_id)}
    assert {"results.json", "journal.jsonl", "openslo.yaml", "summary.md"} <= artifacts
    [child] = c.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    result = RunResult.read(history.runs["r1"])
    assert child.info.start_time == parent.info.start_time  # the run's real start, not log time
    assert child.info.end_time - child.info.start_time >= 0
    assert child.data.tags["cujeval.verdict.no-errors"] == result.journeys[0].slos[0].verdict
    assert child.data.metrics["slo.no-errors.good"] == 19
    assert child.data.metrics["slo.no-errors.target"] == 0.9
    assert child.data.metrics["sli.error.mean"] == pytest.approx(1 / 20)
    [dataset_input] = child.inputs.dataset_inputs
    source = json.loads(dataset_input.dataset.source)["uri"]
    assert source.endswith("cases.jsonl") and "/../" not in source
    assert dataset_input.dataset.digest == result.journeys[0].dataset.digest[:36]
    traces = c.search_traces(locations=[parent.info.experiment_id], run_id=child.info.run_id)
    assert len(traces) == N
    t = next(t for t in traces if t.info.tags["cujeval.case_id"] == "c0000")
    assert t.info.state.value == "ERROR"  # question 0 fails
    assessments = {a.name: a for a in t.info.assessments}
    assert assessments["error"].value is True
    ok = next(t for t in traces if t.info.tags["cujeval.case_id"] == "c0001")
    kinds = {s.span_type for s in ok.data.spans}
    assert {"CHAIN", "RETRIEVER"} <= kinds
    retriever = next(s for s in ok.data.spans if s.span_type == "RETRIEVER")
    assert [d["id"] for d in retriever.outputs] == ["d1", "d2"]
    assert json.loads(ok.info.trace_metadata["mlflow.trace.tokenUsage"])["total_tokens"] == 17
    assert {a.name: a.value for a in ok.info.assessments}["precision@2"] == 0.5
    assert ok.info.tags["mlflow.eval.requestId"] == "j/c0001/0"


def test_logging_twice_updates_never_duplicates(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cujeval.tracking.logger as reporter
    from cujeval.errors import ReporterError

    out = history.root / "runs" / "twice"
    mine = replace(history, name=history.name + "-twice")  # its own experiment
    result = evaluate_sync(
        load_suite(mine.suite(5)), RunOptions(output_dir=out, progress=False, mlflow=False)
    )

    def broken(*args: Any) -> None:
        raise RuntimeError("the server fell over")

    monkeypatch.setattr(reporter, "_dataset_input", broken)
    with pytest.raises(ReporterError):
        log(result, out, tracking_uri=history.uri)  # the parent and the journey run exist now
    monkeypatch.undo()
    first = log(result, out, tracking_uri=history.uri)
    again = log(result, out, tracking_uri=history.uri)
    assert first == again
    c = client(history.uri)
    exp = c.get_experiment_by_name(mine.name)
    runs = c.search_runs(
        [exp.experiment_id], filter_string=f"tags.`cujeval.run_id` = '{result.run_id}'"
    )
    assert sorted(r.data.tags.get("cujeval.kind") for r in runs) == ["invocation", "journey"]
    journey = next(r for r in runs if r.data.tags["cujeval.kind"] == "journey")
    assert journey.info.status == "FINISHED"
    traces = c.search_traces(locations=[exp.experiment_id], run_id=journey.info.run_id)
    assert len(traces) == N
    assert len(journey.inputs.dataset_inputs) == 1


def test_budget_command(history: History) -> None:
    r = cujeval("budget", str(history.suite(100)), "--tracking-uri", history.uri)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "j/no-errors" in x)
    assert "EXHAUSTED" in line and "slow" in line
    assert f"{run_id(history, 'r2')} (10 bad, 167% of budget)" in line
    r = cujeval(
        "budget", str(history.suite(100)), "--tracking-uri", history.uri, "--fail-on", "exhausted"
    )
    assert r.returncode == 1
    r = cujeval(
        "budget", str(history.suite(100)), "--tracking-uri", history.uri, "--trigger", "nightly"
    )
    line = next(x for x in r.stdout.splitlines() if "j/no-errors" in x)
    assert "50%" in line and "EXHAUSTED" not in line


def test_compare_command(history: History, tmp_path: Path) -> None:
    a, b = history.parents["r1"], history.parents["r2"]
    r = cujeval("compare", a, a, "--tracking-uri", history.uri, "--no-log")
    assert r.returncode == 0, r.stderr
    assert "REGRESSED" not in r.stdout and "IMPROVED" not in r.stdout
    changes = [x.split()[1] for x in r.stdout.splitlines() if x.startswith("  j/")]
    assert changes == ["INCONCLUSIVE", "INCONCLUSIVE"] and "NO CHANGE" not in r.stdout
    md = tmp_path / "comment.md"
    r = cujeval("compare", a, b, "--tracking-uri", history.uri, "--markdown", str(md))
    assert r.returncode == 1, r.stderr
    line = next(x for x in r.stdout.splitlines() if "j/no-errors" in x)
    assert "REGRESSED" in line and "BLOCKS" in line
    assert "paired cases" in r.stdout  # the power line
    text = md.read_text()
    assert "| j/no-errors | 🔴 REGRESSED | 95.0% | 50.0% |" in text
    c = client(history.uri)
    assert any(x.path.startswith("compare") for x in c.list_artifacts(b))


def test_run_with_baseline_and_budget_policy(history: History) -> None:
    out = history.root / "runs" / "gated"
    baseline = history.parents["r1"]
    suite = history.suite(2)  # the faulted target: a regression against r1
    env = {**os.environ, "MLFLOW_TRACKING_URI": history.uri}
    r = cujeval(
        "run", str(suite), "--output", str(out), "--no-progress", "--baseline", baseline, env=env
    )
    assert r.returncode == 1, r.stderr
    gate = json.loads((out / "results.json").read_text())["gate"]
    assert any(b.startswith("j/no-errors: regressed: against baseline") for b in gate["blocking"])
    (regressed,) = [r for r in gate["reasons"] if r["kind"] == "regressed"]
    assert (regressed["journey"], regressed["slo"], regressed["action"]) == (
        "j",
        "no-errors",
        "block",
    )
    assert (out / "compare.md").exists() and (out / "budget.json").exists()
    # its report.html draws the history read for its budgets, this run newest, and its
    # comparison with the baseline
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2 id='history'>History</h2>" in page
    assert f"data-run='{json.loads((out / 'results.json').read_text())['run_id']}'" in page
    assert "Last comparison with a baseline: 1 SLO(s) regressed" in page
    # a clean-looking run fails the gate while the budget is exhausted (policy on)
    out2 = history.root / "runs" / "budgeted"
    suite = history.suite(100, budget={"window": 28})
    r = cujeval("run", str(suite), "--output", str(out2), "--no-progress", env=env)
    assert r.returncode == 1, r.stderr
    result = json.loads((out2 / "results.json").read_text())
    blocking = [r for r in result["gate"]["reasons"] if r["action"] == "block"]
    assert [r["kind"] for r in blocking] == ["budget_exhausted"]  # not the run's own verdicts
    assert any("j/no-errors: budget exhausted: " in b for b in result["gate"]["blocking"])
    budget = json.loads((out2 / "budget.json").read_text())
    assert budget["this_run_counted"] is True
    mine = next(b for b in budget["budgets"] if b["slo"] == "no-errors")
    assert mine["exhausted"] and mine["runs"] >= 4
    c = client(history.uri)
    [journey] = c.search_runs(
        [c.get_experiment_by_name(history.name).experiment_id],
        filter_string=f"tags.`cujeval.run_id` = '{result['run_id']}' and "
        "tags.`cujeval.kind` = 'journey'",
    )
    assert journey.data.metrics["slo.no-errors.budget_exhausted"] == 1.0
    assert journey.data.metrics["slo.no-errors.burn_last"] == pytest.approx(0.5)
    assert journey.data.metrics["gate.passed"] == 0.0  # blocked by the budget alone
    # a baseline that names nothing is bad input, before any call
    r = cujeval("run", str(suite), "--baseline", "tag:nope", "--no-progress", env=env)
    assert r.returncode == 2 and "tag" in r.stderr and "Traceback" not in r.stderr


def test_tag_names_a_baseline(history: History) -> None:
    tag = f"release-{history.name}"
    r = cujeval("tag", history.parents["r1"], tag, "--tracking-uri", history.uri)
    assert r.returncode == 0, r.stderr
    assert load_run(f"tag:{tag}", tracking_uri=history.uri).mlflow_run_id == history.parents["r1"]
    r = cujeval("tag", run_id(history, "r3"), tag, "--tracking-uri", history.uri)  # moves it
    assert r.returncode == 0, r.stderr
    assert load_run(f"tag:{tag}", tracking_uri=history.uri).mlflow_run_id == history.parents["r3"]


def _journey_run(history: History, label: str) -> tuple[str, str]:
    c = client(history.uri)
    parent = c.get_run(history.parents[label])
    [child] = c.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    return parent.info.experiment_id, child.info.run_id


def test_journey_runs_are_input_to_mlflow_paired_comparison(history: History) -> None:
    """What mlflow.genai.compare_evaluations (MLflow >= 3.18) reads, read as it reads it: the
    run's traces, paired across runs on their mlflow.eval.requestId tag, with valid feedback
    per scorer."""
    import mlflow

    mlflow.set_tracking_uri(history.uri)

    def eval_rows(label: str) -> dict[str, dict[str, Any]]:
        exp, run = _journey_run(history, label)
        traces = mlflow.search_traces(locations=[exp], run_id=run, return_type="list")
        return {
            t.info.tags["mlflow.eval.requestId"]: {
                a.name: a.value for a in t.info.assessments if a.error is None
            }
            for t in traces
        }

    base, cand = eval_rows("r1"), eval_rows("r2")
    assert len(base) == len(cand) == N and set(base) == set(cand)  # every case pairs
    worse = [k for k in base if base[k]["error"] is False and cand[k]["error"] is True]
    assert len(worse) == 9


def test_report_command_draws_the_history(history: History, tmp_path: Path) -> None:
    from tests.chromium import charts, dump_dom

    a, b = history.parents["r1"], history.parents["r2"]
    r = cujeval("compare", a, b, "--tracking-uri", history.uri)  # logged with r2
    assert r.returncode == 1, r.stderr
    page = tmp_path / "history.html"
    suite = str(history.suite(100))
    r = cujeval("report", suite, "--tracking-uri", history.uri, "-o", str(page))
    assert r.returncode == 0, r.stderr
    assert str(page) in r.stdout and "j/no-errors EXHAUSTED" in r.stderr
    drawn = charts(dump_dom(page))
    trend = drawn["trend:j/no-errors"]
    by_run = {m["data-run"]: m for m in trend.marks}
    faulted = by_run[run_id(history, "r2")]
    assert float(faulted["data-estimate"]) == pytest.approx(0.5)  # 10 of 20 answered
    assert float(faulted["circle.cy"]) > float(trend.lines["target"]["y1"])  # below 90 %
    assert float(by_run[run_id(history, "r1")]["data-estimate"]) == pytest.approx(0.95)
    burn = drawn["burndown:j/no-errors"]
    spent = {m["data-run"]: float(m["data-bad"]) for m in burn.marks}
    assert spent[run_id(history, "r2")] == 10 == max(spent.values())
    text = page.read_text(encoding="utf-8")
    assert f"<code class='spender'>{run_id(history, 'r2')}</code> 10 bad" in text
    assert "Last comparison with a baseline: 1 SLO(s) regressed" in text  # compare's, logged
    # the runs were made with MLflow off: their own report says why it holds no history
    own = (history.runs["r1"] / "report.html").read_text(encoding="utf-8")
    assert "History not shown: MLflow is off for this run" in own

    r = cujeval("report", suite, "--tracking-uri", "sqlite:///" + str(tmp_path / "empty.db"))
    assert r.returncode == 2 and "no completed run of suite" in r.stderr, r.stderr
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    r = cujeval("report", suite, "--tracking-uri", "http://127.0.0.1:9", env=env)
    assert r.returncode == 3 and "unreachable" in r.stderr, r.stderr
    (tmp_path / "junk.db").write_text("not a database")
    r = cujeval("report", suite, "--tracking-uri", "sqlite:///" + str(tmp_path / "junk.db"))
    assert r.returncode == 3 and "cannot be read" in r.stderr, r.stderr
    for out in (r.stderr, r.stdout):
        assert "Traceback" not in out
