"""A run's MLflow runs created as it starts and its traces written while its cases run
(cujeval.tracking.stream), on real SQLite stores and a real ``mlflow server``: what ends up in
MLflow equals what logging the finished folder writes; a store that goes down part way loses
nothing, and ``cujeval log`` then completes the record without writing anything twice; runs of
a command that died are not left running."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import cujeval, run_folder, run_in_terminal, write_suite
from tests.mlflow_server import start_mlflow_server

from cujeval.spec.journal import read_rows
from cujeval.spec.results import RunResult
from cujeval.tracking.history import RUN_KEY, client, legacy_run_key
from cujeval.tracking.logger import log
from cujeval.tracking.store import prepare
from cujeval.tracking.worker import Tracking

VOLATILE = ("mlflow.user", "mlflow.source.name", "mlflow.source.type")


@pytest.fixture
def finished_run(tmp_path: Path, fault_server: tuple[str, Any]) -> Path:
    url, _ = fault_server
    return run_folder(tmp_path, f"{url}/answer", n=20)


def wait_for(what: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def n_traces(uri: str, suite: str) -> int:
    exp = client(uri).get_experiment_by_name(suite)
    return 0 if exp is None else len(client(uri).search_traces(locations=[exp.experiment_id]))


def view(uri: str, parent_id: str) -> dict[str, Any]:
    """Everything a store holds of one invocation: its runs and every trace (its tags,
    metadata, assessments and spans), run ids replaced by what they name."""
    c = client(uri)
    parent = c.get_run(parent_id)
    exp_id = parent.info.experiment_id
    runs = [parent, *c.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent_id}'")]
    names = {r.info.run_id: r.data.tags.get("cujeval.journey", "parent") for r in runs}

    def named(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, default=str)
        for run_id, name in names.items():
            text = text.replace(run_id, f"<{name}>")
        return text

    out: dict[str, Any] = {}
    for r in runs:
        out[names[r.info.run_id]] = named(
            {
                "name": r.info.run_name,
                "status": r.info.status,
                "start": r.info.start_time,
                "params": dict(r.data.params),
                "metrics": dict(r.data.metrics),
                "tags": {k: v for k, v in r.data.tags.items() if k not in VOLATILE},
                "artifacts": sorted(a.path for a in c.list_artifacts(r.info.run_id)),
                "inputs": [i.dataset.digest for i in r.inputs.dataset_inputs],
            }
        )
    for t in c.search_traces(locations=[exp_id], max_results=1000):
        info = t.info.to_dict()
        info.pop("assessments")
        assessments = [
            {k: v for k, v in a.to_dictionary().items() if k != "assessment_id"}
            for a in t.info.assessments
        ]
        out[t.info.client_request_id] = named(
            {
                "info": info,
                "assessments": sorted(assessments, key=repr),
                "spans": [s.to_dict() for s in t.data.spans],
            }
        )
    return out


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """``a == b``, or an error that shows what differs."""
    import difflib

    assert a.keys() == b.keys()
    for k in a:
        if a[k] != b[k]:
            lines = difflib.unified_diff(a[k].split(', "'), b[k].split(', "'), lineterm="", n=0)
            raise AssertionError(f"{k}:\n" + "\n".join(list(lines)[:40]))


def begin(worker: Tracking, folder: Path, result: RunResult) -> None:
    worker.begin(
        folder,
        suite=result.suite,
        run_id=result.run_id,
        started_at=result.started_at,
        trigger=result.trigger,
        journeys=[j.name for j in result.journeys],
    )


def test_streamed_traces_equal_the_post_run_ones(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = RunResult.read(finished_run)
    lines = (finished_run / "journal.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 20
    live = tmp_path / "live"
    shutil.copytree(finished_run, live)
    journal = live / "journal.jsonl"
    journal.write_bytes(b"".join(lines[:8]))  # the run is under way: 8 cases finished
    uri = f"sqlite:///{tmp_path / 'streamed.db'}"
    with Tracking(uri) as worker:
        begin(worker, live, result)
        wait_for(lambda: n_traces(uri, result.suite) == 8)
        c = client(uri)
        running = c.search_runs([c.get_experiment_by_name(result.suite).experiment_id])
        assert {r.info.status for r in running} == {"RUNNING"}  # begun, not finished
        assert {r.data.tags["cujeval.status"] for r in running} == {"running"}
        with journal.open("ab") as f:  # a row cut short is left until it is whole
            f.write(b"".join(lines[8:15]) + lines[15][:40])
            f.flush()
            wait_for(lambda: n_traces(uri, result.suite) == 15)
            f.write(lines[15][40:] + b"".join(lines[16:]))
        streamed_id, _ = worker.log(result, live)
    monkeypatch.setenv("CUJEVAL_MLFLOW_BULK_TRACES", "0")  # MLflow's own client, after the run
    post_uri = f"sqlite:///{tmp_path / 'post.db'}"
    post_id = log(result, live, tracking_uri=post_uri)
    streamed, post = view(uri, streamed_id), view(post_uri, post_id)
    assert len([k for k in streamed if "/" in k]) == 20  # a trace per case
    same(streamed, post)

    again = log(result, live, tracking_uri=uri)  # `cujeval log` afterwards: nothing twice
    assert again == streamed_id
    same(view(uri, streamed_id), streamed)


@pytest.fixture
def gated() -> Iterator[tuple[str, threading.Event]]:
    """A target that answers its first OPEN calls at once and the rest once the test opens
    the gate: the run is under way, its end in the test's hands."""
    from aiohttp import web
    from tests.servers import serve_app

    gate = threading.Event()
    calls = itertools.count()

    async def answer(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if next(calls) >= OPEN:
            while not gate.is_set():
                await asyncio.sleep(0.02)
        q = str(body.get("question", ""))
        return web.json_response(
            {"answer": f"About {q}", "contexts": [{"id": "d1", "text": q}], "model": "m"}
        )

    app = web.Application()
    app.router.add_post("/answer", answer)
    with serve_app(app) as url:
        try:
            yield f"{url}/answer", gate
        finally:
            gate.set()


OPEN = 10


def test_store_down_mid_run_loses_nothing(
    tmp_path: Path, gated: tuple[str, threading.Event]
) -> None:
    url, gate = gated
    n = 30
    suite = write_suite(tmp_path, url=url, n=n, settings={"concurrency": 2, "retries": 0})
    doc = yaml.safe_load(suite.read_text())
    doc["name"] = "down-mid-run"
    doc["targets"]["svc"]["timeout_s"] = 300  # the gate opens when the test says
    suite.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "cujeval.cli", "run", str(suite), "-o", str(out)]
    store = tmp_path / "store"
    prepare(f"sqlite:///{store / 'mlflow.db'}")  # the server's store, made in a moment
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"}
    with start_mlflow_server(store) as first:
        env["MLFLOW_TRACKING_URI"] = first
        proc = subprocess.Popen(
            [*command, "--no-progress"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the first cases' traces are in while the others wait at the gate
        wait_for(lambda: n_traces(first, "down-mid-run") == OPEN or proc.poll() is not None, 300)
        assert proc.poll() is None, proc.communicate()[1]
    gate.set()  # the server is down; the run goes on to its end, its record on disk
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "mlflow reporter failed" in stderr and f"cujeval log {out}" in stderr
    assert RunResult.read(out).status == "completed"
    assert len(list(read_rows(out / "journal.jsonl"))) == n

    with start_mlflow_server(store) as again:  # the same store, back up
        env["MLFLOW_TRACKING_URI"] = again
        c = client(again)
        exp = c.get_experiment_by_name("down-mid-run")
        begun = c.search_runs([exp.experiment_id])
        assert {r.info.status for r in begun} == {"RUNNING"}  # begun, the end never logged
        assert n_traces(again, "down-mid-run") == OPEN
        first_log = cujeval("log", str(out), env=env, timeout=300)
        assert first_log.returncode == 0, first_log.stderr
        second_log = cujeval("log", str(out), env=env, timeout=300)
        assert second_log.stdout == first_log.stdout  # the same run, logged once
        runs = c.search_runs([exp.experiment_id])
        assert sorted(r.data.tags["cujeval.kind"] for r in runs) == ["invocation", "journey"]
        assert {r.info.status for r in runs} == {"FINISHED"}
        assert {r.data.tags["cujeval.status"] for r in runs} == {"completed"}
        journey = next(r for r in runs if r.data.tags["cujeval.kind"] == "journey")
        found = c.search_traces(locations=[exp.experiment_id], max_results=500)
        cases = Counter(t.info.tags["cujeval.case_id"] for t in found)
        assert len(cases) == n and set(cases.values()) == {1}  # every case once
        scores = {r.case_id: set(r.scores) for r in read_rows(out / "journal.jsonl")}
        for t in found:
            assert t.info.request_metadata["mlflow.sourceRun"] == journey.info.run_id
            names = Counter(a.name for a in t.info.assessments)
            assert set(names) == scores[t.info.tags["cujeval.case_id"]]
            assert set(names.values()) == {1}, names  # no assessment twice
            spans = c.get_trace(t.info.trace_id).data.spans
            assert sorted(s.span_type for s in spans) == ["CHAIN", "RETRIEVER"]


def test_runs_of_a_command_that_died_end_killed(finished_run: Path, tmp_path: Path) -> None:
    result = RunResult.read(finished_run)
    uri = f"sqlite:///{tmp_path / 'died.db'}"
    worker = Tracking(uri)
    begin(worker, finished_run, result)
    c = client(uri)
    wait_for(lambda: c.get_experiment_by_name(result.suite) is not None)
    exp_id = c.get_experiment_by_name(result.suite).experiment_id
    wait_for(lambda: len(c.search_runs([exp_id])) == 2)
    worker.close()  # the command ends without a result to log
    runs = c.search_runs([exp_id])
    assert {r.info.status for r in runs} == {"KILLED"}
    assert {r.data.tags["cujeval.status"] for r in runs} == {"aborted"}


def test_a_folder_logged_by_an_older_cujeval_is_found_again(
    finished_run: Path, tmp_path: Path
) -> None:
    result = RunResult.read(finished_run)
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    parent = log(result, finished_run, tracking_uri=uri)
    c = client(uri)
    exp_id = c.get_run(parent).info.experiment_id
    old_key = legacy_run_key(result, finished_run)  # as an older cujeval tagged its runs
    for r in c.search_runs([exp_id]):
        c.set_tag(r.info.run_id, RUN_KEY, old_key)
    assert log(result, finished_run, tracking_uri=uri) == parent
    assert len(c.search_runs([exp_id])) == 2


def test_ctrl_c_mid_stream_keeps_every_finished_case(
    tmp_path: Path, gated: tuple[str, threading.Event]
) -> None:
    url, _ = gated
    suite = write_suite(tmp_path, url=url, n=40, settings={"concurrency": 2})
    doc = yaml.safe_load(suite.read_text())
    doc["targets"]["svc"]["timeout_s"] = 300  # the gate opens when the test says
    suite.write_text(yaml.safe_dump(doc, sort_keys=False))
    uri = f"sqlite:///{tmp_path / 'int.db'}"
    out = tmp_path / "run"
    proc = run_in_terminal(suite, out, uri)
    wait_for(lambda: n_traces(uri, "t") == OPEN or proc.poll() is not None, 300)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C while the other cases wait at the gate
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stderr
    result = RunResult.read(out)
    assert result.status == "aborted"
    assert len(list(read_rows(out / "journal.jsonl"))) == OPEN
    c = client(uri)
    exp_id = c.get_experiment_by_name("t").experiment_id
    assert {r.info.status for r in c.search_runs([exp_id])} == {"KILLED"}
    assert n_traces(uri, "t") == OPEN  # each finished case, once
