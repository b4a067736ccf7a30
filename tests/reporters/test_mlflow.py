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
