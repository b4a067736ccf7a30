"""The tracking server killed in the middle of a run: nothing is lost, the exit code is the
gate's, `cujeval log` exits 3 while the server is down and logs the folder (once, however
often it is called) when one is up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from tests.helpers import cujeval, write_suite
from tests.mlflow_server import start_mlflow_server

from cujeval.spec.journal import read_rows
from cujeval.spec.results import RunResult
from cujeval.tracking.history import client


def test_server_killed_mid_run(
    tmp_path: Path, fault_server: tuple[str, Any], mlflow_server: str
) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/slow?s=0.4", n=8, settings={"concurrency": 1})
    doc = yaml.safe_load(suite.read_text())
    doc["name"] = "outage"
    doc["budget"] = {"window": 28}  # the history is read while the run goes on, or after it
    suite.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    env = {
        **os.environ,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "3",
    }
    (tmp_path / "doomed").mkdir()
    with start_mlflow_server(tmp_path / "doomed") as doomed:
        env["MLFLOW_TRACKING_URI"] = doomed
        command = ["run", str(suite), "-o", str(out), "--no-progress"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "cujeval.cli", *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(list(read_rows(out / "journal.jsonl"))) < 2:  # the run is under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
    # the server is gone (killed) while the run goes on
    _, stderr = proc.communicate(timeout=300)
    # the gate's code: MLflow going down loses nothing, and a budget history it could not read
    # blocks (the suite's budget policy), never passes
    unread = "error budgets not checked" in stderr
    assert proc.returncode == (1 if unread else 0), stderr
    # MLflow's process reads the history as soon as it has started: before the kill (the
    # budgets are computed) or after it (they are not, and the run says so)
    assert ("error budgets not checked" in stderr) != (out / "budget.json").exists(), stderr
    # report.html draws the history it read, or says in one line that it could not
    page = (out / "report.html").read_text(encoding="utf-8")
    if unread:
        assert "<h2>History</h2><p class='muted'>History not shown: MLflow at " in page
    else:
        assert "<h2 id='history'>History</h2>" in page
    assert "mlflow reporter failed" in stderr and f"cujeval log {out}" in stderr
    result = RunResult.read(out)
    assert result.status == "completed" and result.journeys[0].n_rows == 8
    assert len(list(read_rows(out / "journal.jsonl"))) == 8
    assert (out / "summary.md").exists()

    r = cujeval("log", str(out), env=env, timeout=120)  # still down
    assert r.returncode == 3, r.stderr
    assert "unreachable" in r.stderr and f"cujeval log {out}" in r.stderr
    assert "Traceback" not in r.stderr

    env["MLFLOW_TRACKING_URI"] = mlflow_server
    first = cujeval("log", str(out), env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    again = cujeval("log", str(out), env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert first.stdout == again.stdout  # "logged to MLflow run <the same id>"
    c = client(mlflow_server)
    exp = c.get_experiment_by_name("outage")
    runs = c.search_runs(
        [exp.experiment_id], filter_string=f"tags.`cujeval.run_id` = '{result.run_id}'"
    )
    assert sorted(r.data.tags["cujeval.kind"] for r in runs) == ["invocation", "journey"]
    journey = next(r for r in runs if r.data.tags["cujeval.kind"] == "journey")
    assert len(c.search_traces(locations=[exp.experiment_id], run_id=journey.info.run_id)) == 8
