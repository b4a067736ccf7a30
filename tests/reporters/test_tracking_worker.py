"""MLflow in a second process (cujeval.tracking.worker): what it logs and reads equals what the
in-process calls log and read, on real SQLite stores; its errors are the in-process ones; a
worker that is gone is replaced by the in-process call; `cujeval run` goes through it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import cujeval, run_folder, run_in_terminal, write_suite

from cujeval.spec.results import RunResult
from cujeval.tracking.history import TrackingUnavailable, client, read_journeys
from cujeval.tracking.logger import log
from cujeval.tracking.worker import Tracking


@pytest.fixture
def finished_run(tmp_path: Path, fault_server: tuple[str, Any]) -> Path:
    url, _ = fault_server
    return run_folder(tmp_path, f"{url}/answer", n=20)


def _logged(uri: str, run_id: str) -> dict[str, Any]:
    """What a store holds of one logged invocation: its runs' params, metrics and tags (ids
    and times aside), keyed by journey."""
    c = client(uri)
    parent = c.get_run(run_id)
    runs = c.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'"
    )
    volatile = ("mlflow.parentRunId", "mlflow.user", "mlflow.source.name", "mlflow.source.type")

    def view(r: Any) -> dict[str, Any]:
        return {
            "params": dict(r.data.params),
            "metrics": dict(r.data.metrics),
            "tags": {k: v for k, v in r.data.tags.items() if k not in volatile},
            "status": r.info.status,
            "artifacts": sorted(a.path for a in c.list_artifacts(r.info.run_id)),
        }

    return {
        "parent": view(parent),
        **{r.data.tags["cujeval.journey"]: view(r) for r in runs},
        "traces": len(c.search_traces(locations=[parent.info.experiment_id])),
    }


def test_worker_logs_what_the_in_process_reporter_logs(finished_run: Path, tmp_path: Path) -> None:
    result = RunResult.read(finished_run)
    here, there = f"sqlite:///{tmp_path / 'here.db'}", f"sqlite:///{tmp_path / 'there.db'}"
    direct = log(result, finished_run, tracking_uri=here)
    with Tracking(there) as worker:
        via_worker, shown = worker.log(result, finished_run)
        assert worker._proc is not None  # it answered from its own process
    assert shown == there
    assert _logged(there, via_worker) == _logged(here, direct)
    assert _logged(there, via_worker)["traces"] == 20


def test_prefetched_history_equals_a_direct_read(finished_run: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'h.db'}"
    result = RunResult.read(finished_run)
    log(result, finished_run, tracking_uri=uri)
    with Tracking(uri) as worker:
        worker.prefetch_journeys(result.suite, trigger=None, runs=28)
        got = worker.read_journeys(result.suite, trigger=None, runs=28)
        assert worker.read_journeys("no-such-suite") == []
    expected = read_journeys(client(uri), result.suite, runs=28)
    assert got == expected and len(got) == 1
    assert got[0].metrics["slo.no-errors.n"] == 20


def test_a_worker_that_died_is_replaced_by_the_in_process_call(
    finished_run: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'd.db'}"
    result = RunResult.read(finished_run)
    with Tracking(uri) as worker:
        assert worker._proc is not None
        os.kill(worker._proc.pid, signal.SIGKILL)  # a crash the real worker cannot be made to have
        worker._proc.wait()
        run_id, shown = worker.log(result, finished_run)
        assert worker._proc is None  # dropped: the call ran here
    assert shown == uri
    assert client(uri).get_run(run_id).data.tags["cujeval.gate"] == "passed"


def test_an_unreachable_server_is_the_same_error_as_in_process(tmp_path: Path) -> None:
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with Tracking("http://127.0.0.1:9") as worker:
        with pytest.raises(TrackingUnavailable, match=r"127\.0\.0\.1:9 is unreachable") as exc:
            worker.read_journeys("s")
        assert worker._proc is not None  # the worker answered with the error, and lives on
    assert exc.value.exit_code == 3


def test_cujeval_run_logs_through_the_worker(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=12)
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    runs = []
    for k in range(2):  # the second run's budget comes from the history the first one logged
        out = tmp_path / f"run{k}"
        r = cujeval("run", str(suite), "-o", str(out), "--no-progress", env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        assert f"at {uri}" in r.stderr and "Traceback" not in r.stderr
        runs.append(RunResult.read(out))
    import json

    budget = json.loads((tmp_path / "run1" / "budget.json").read_text())
    assert {b["runs"] for b in budget["budgets"]} == {2}
    c = client(uri)
    exp = c.get_experiment_by_name(runs[0].suite)
    logged = c.search_runs([exp.experiment_id], filter_string="tags.`cujeval.kind` = 'journey'")
    assert sorted(r.data.tags["cujeval.run_id"] for r in logged) == sorted(r.run_id for r in runs)


def test_ctrl_c_stops_the_run_but_not_its_logging(
    tmp_path: Path, fault_server: tuple[str, Any]
) -> None:
    import time

    from cujeval.spec.journal import read_rows

    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/slow?s=0.3", n=40, settings={"concurrency": 1})
    uri = f"sqlite:///{tmp_path / 'int.db'}"
    out = tmp_path / "run"
    proc = run_in_terminal(suite, out, uri)
    deadline = time.monotonic() + 120
    while len(list(read_rows(out / "journal.jsonl"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(2)  # MLflow's process has started by now
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: every process of the group gets it
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr and "mlflow reporter failed" not in stderr
    result = RunResult.read(out)
    assert result.status == "aborted"
    c = client(uri)
    exp = c.get_experiment_by_name(result.suite)
    runs = c.search_runs([exp.experiment_id])
    assert {r.data.tags["cujeval.kind"] for r in runs} == {"invocation", "journey"}
    assert {r.info.status for r in runs} == {"KILLED"}
