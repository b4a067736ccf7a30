"""MLflow reporter against a real tracking server on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import cujeval, run_folder, write_suite
from tests.servers import free_port

from cujeval.tracking.logger import key, log


def test_key_sanitises() -> None:
    assert key("precision@5") == "precision_5"
    assert key("instruction:punctuation:no_comma") == "instruction_punctuation_no_comma"


@pytest.fixture
def finished_run(tmp_path: Path, fault_server: tuple[str, Any]) -> Path:
    url, _ = fault_server
    return run_folder(tmp_path, f"{url}/answer", n=30)


def test_logs_parent_and_journey_runs(finished_run: Path, mlflow_server: str) -> None:
    from mlflow.tracking import MlflowClient

    from cujeval.spec.results import RunResult

    result = RunResult.read(finished_run)
    parent_id = log(result, finished_run, tracking_uri=mlflow_server)
    client = MlflowClient(tracking_uri=mlflow_server)
    parent = client.get_run(parent_id)
    assert parent.data.tags["cujeval.gate"] == "passed"
    assert parent.data.metrics["gate.passed"] == 1.0
    exp = client.get_experiment(parent.info.experiment_id)
    assert exp.name == "t"
    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert [c.data.tags["cujeval.journey"] for c in children] == ["j"]
    child = children[0]
    assert child.data.metrics["slo.no-errors.met"] == 1.0
    assert child.data.metrics["slo.no-errors.n"] == 30
    assert child.data.metrics["sli.precision_2.mean"] == 0.5
    assert child.data.params["dataset_digest"] == result.journeys[0].dataset.digest
    artifacts = {a.path for a in client.list_artifacts(parent_id)}
    assert {"results.json", "summary.md", "junit.xml"} <= artifacts
    assert any(a.path.startswith("cases_") for a in client.list_artifacts(child.info.run_id))


def test_server_down_keeps_results_then_log_later(
    tmp_path: Path, fault_server: tuple[str, Any], mlflow_server: str
) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=4)
    out = tmp_path / "o"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "3",
    }
    r = cujeval("run", str(suite), "--output", str(out), "--no-progress", env=env, timeout=180)
    assert r.returncode == 0, r.stderr  # the gate passed; MLflow being down does not change it
    assert "mlflow reporter failed" in r.stderr and f"cujeval log {out}" in r.stderr
    assert (out / "results.json").exists() and (out / "summary.md").exists()
    env["MLFLOW_TRACKING_URI"] = mlflow_server
    r = cujeval("log", str(out), env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "logged to MLflow run" in r.stdout


def test_what_a_reviewer_sees_in_mlflow(
    tmp_path: Path, fault_server: tuple[str, Any], mlflow_server: str
) -> None:
    """Journey runs named with journey, verdict and run id; one metric name per figure; cost
    in micro-dollars beside the exact value; the dataset under the Datasets tab."""
    import mlflow
    import yaml

    from cujeval.pipeline import evaluate_sync
    from cujeval.spec.options import RunOptions
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import load_suite
    from cujeval.tracking.history import client
    from cujeval.tracking.logger import evaluation_dataset_name

    url, _ = fault_server
    path = write_suite(tmp_path, url=f"{url}/answer", n=6, scorers=["error", "cost_usd"])
    doc = yaml.safe_load(path.read_text())
    doc["name"] = "views"
    doc["prices"] = {"test-model": {"input_per_mtok": 0.15, "output_per_mtok": 0.60}}
    doc["journeys"][0]["slos"] = [{"name": "no-errors", "good": "error == false", "target": 0.5}]
    path.write_text(yaml.safe_dump(doc))
    parents = []
    for name in ("a", "b"):
        out = tmp_path / name
        evaluate_sync(load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False))
        parents.append(log(RunResult.read(out), out, tracking_uri=mlflow_server))
    log(RunResult.read(out), out, tracking_uri=mlflow_server)  # again: updates, adds nothing
    c = client(mlflow_server)
    exp_id = c.get_run(parents[0]).info.experiment_id
    journeys = c.search_runs([exp_id], "tags.`cujeval.kind` = 'journey'")
    names = sorted(r.info.run_name for r in journeys)
    ids = sorted(RunResult.read(tmp_path / n).run_id[-6:] for n in "ab")
    assert names == sorted(f"j · PASSED · {i}" for i in ids)
    invocations = c.search_runs([exp_id], "tags.`cujeval.kind` = 'invocation'")
    trigger = RunResult.read(out).trigger  # manual, or ci where CI is set
    assert sorted(r.info.run_name for r in invocations) == sorted(
        f"PASSED · {trigger} · {i}" for i in ids
    )
    # each SLO's estimate on the invocations too: the chart view plots them by default
    [estimate] = [s.estimate for s in RunResult.read(out).journeys[0].slos]
    for r in invocations:
        assert r.data.metrics["slo/j/no-errors"] == pytest.approx(estimate)
    metrics = journeys[0].data.metrics
    assert not [k for k in metrics if k.endswith("/mean")]  # sli.<name>.mean only
    cost = 12 * 0.15e-6 + 5 * 0.60e-6  # the server's usage, priced
    assert metrics["sli.cost_usd.mean"] == pytest.approx(cost)
    assert metrics["sli.cost_uusd.mean"] == pytest.approx(cost * 1e6)
    [trace, *_] = c.search_traces(locations=[exp_id], run_id=journeys[0].info.run_id)
    values = {a.name: a.value for a in trace.info.assessments}
    assert values["cost_uusd"] == pytest.approx(4.8) and values["cost_usd"] == pytest.approx(cost)

    [dataset] = c.search_datasets(experiment_ids=[exp_id])
    result = RunResult.read(out)
    assert (
        dataset.name
        == evaluation_dataset_name(result.journeys[0])
        == "cases@" + (result.journeys[0].dataset.digest.split(":")[-1][:12])
    )
    mlflow.set_tracking_uri(mlflow_server)
    try:
        records = c.get_dataset(dataset.dataset_id).to_df()
    finally:
        mlflow.set_tracking_uri(None)
    assert sorted(t["case_id"] for t in records["tags"]) == [f"c{i:04d}" for i in range(6)]
    assert {i["input"] for i in records["inputs"]} == {f"question {i}" for i in range(6)}
