"""The runner end to end against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cujeval.errors import InputError
from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.results import RunResult
from cujeval.spec.suite import load_suite
from tests.helpers import write_dataset, write_suite
from tests.servers import free_port, serve


def run(suite: Path, out: Path, **options: Any) -> RunResult:
    return evaluate_sync(
        load_suite(suite), RunOptions(output_dir=out, progress=False, mlflow=False, **options)
    )


def journal(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]


def test_rows_scores_and_verdicts(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = run(write_suite(tmp_path, url=f"{url}/answer", n=30), tmp_path / "out")
    assert result.status == "completed" and result.gate.exit_code == 0
    (j,) = result.journeys
    assert j.n_rows == 30 and j.n_errors == 0
    slos = {s.name: s for s in j.slos}
    assert slos["no-errors"].verdict == "MET" and slos["no-errors"].good == 30
    assert {s.name for s in j.slis} >= {"error", "latency_s", "precision@2"}
    rows = journal(tmp_path / "out")
    assert len(rows) == 30
    assert rows[0]["scores"]["precision@2"]["value"] == 0.5  # d1 relevant among d1, d2
    again = RunResult.read(tmp_path / "out")
    assert again == result


def test_retries_then_succeeds(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, log = fault_server
    result = run(
        write_suite(tmp_path, url=f"{url}/flaky?ns=retry&fail=1&status=503", n=5), tmp_path / "o"
    )
    assert result.journeys[0].n_errors == 0
    assert all(r["observation"]["attempts"] == 2 for r in journal(tmp_path / "o"))
    assert log.calls["flakyretry:question 0"] == 2


def test_retry_after_honoured_then_recorded_as_error(
    tmp_path: Path, fault_server: tuple[str, Any]
) -> None:
    url, log = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/flaky?ns=429&fail=99&status=429&retry_after=0.05",
        n=3,
        settings={"retries": 2},
    )
    result = run(suite, tmp_path / "o")
    rows = journal(tmp_path / "o")
    assert {r["observation"]["status"] for r in rows} == {"http_429"}
    assert all(r["observation"]["attempts"] == 3 for r in rows)
    assert log.calls["flaky429:question 1"] == 3
    assert result.journeys[0].n_errors == 3
    slo = {s.name: s for s in result.journeys[0].slos}["no-errors"]
    assert slo.good == 0 and slo.verdict == "BREACHED"
    # no call succeeded at all: the run could not measure the journey (exit 3), whatever n
    assert result.gate.exit_code == 3 and "answered no call" in (result.abort_reason or "")


def test_client_errors_not_retried(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, log = fault_server
    before = log.calls["status:404"]
    run(write_suite(tmp_path, url=f"{url}/status/404", n=2), tmp_path / "o")
    assert log.calls["status:404"] - before == 2


def test_auth_refused_aborts(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = run(write_suite(tmp_path, url=f"{url}/status/401", n=5), tmp_path / "o")
    assert result.status == "aborted" and "authorisation" in (result.abort_reason or "")
    assert result.gate.exit_code == 3


def test_unreachable_target_keeps_finished(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    dead = f"http://127.0.0.1:{free_port()}/answer"
    suite = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=8,
        targets={"dead": {"kind": "http", "url": dead, "timeout_s": 2}},
        extra_journeys=[
            {"name": "second", "dataset": "cases.jsonl", "target": "dead", "scorers": ["error"]}
        ],
    )
    result = run(suite, tmp_path / "o")
    assert result.status == "aborted" and "unreachable" in (result.abort_reason or "")
    assert result.gate.exit_code == 3
    rows = journal(tmp_path / "o")
    assert sum(r["journey"] == "j" for r in rows) == 8  # the finished journey is kept
    assert (tmp_path / "o" / "results.json").exists()


def test_epochs_repeat_cases(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = run(write_suite(tmp_path, url=f"{url}/answer", n=4), tmp_path / "o", epochs=3)
    assert result.journeys[0].n_rows == 12
    keys = {(r["case_id"], r["epoch"]) for r in journal(tmp_path / "o")}
    assert len(keys) == 12


def test_kill_9_then_resume_calls_no_finished_case_again(tmp_path: Path) -> None:
    """A 500-case run killed with SIGKILL mid-way, then --resume: every case exactly once in
    the journal, and no case that had finished before the kill is called again."""
    with serve(delay_s=0.02) as (url, log):
        suite = write_suite(
            tmp_path,
            url=f"{url}/answer",
            n=500,
            scorers=["error"],
            slos=[{"name": "no-errors", "good": "error == false", "target": 0.9}],
            settings={"concurrency": 4},
        )
        out = tmp_path / "run"
        cmd = [
            sys.executable,
            "-m",
            "cujeval.cli",
            "run",
            str(suite),
            "--output",
            str(out),
            "--no-mlflow",
            "--no-progress",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        lines = 0
        while lines < 150 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if (out / "journal.jsonl").exists():
                lines = (out / "journal.jsonl").read_text().count("\n")
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        text = (out / "journal.jsonl").read_text()
        complete = text[: text.rfind("\n") + 1]  # a torn last line is not a finished case
        finished = {json.loads(x)["case_id"] for x in complete.splitlines()}
        assert 150 <= len(finished) < 500
        calls_before = dict(log.calls)
        done = subprocess.run(
            [*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        rows = journal(out)
        ids = [r["case_id"] for r in rows]
        assert len(ids) == 500 and len(set(ids)) == 500
        for case_id in finished:
            key = f"answer:question {int(case_id[1:])}"
            assert log.calls[key] == calls_before[key] == 1, case_id
        result = RunResult.read(out)
        assert result.journeys[0].n_rows == 500


def test_dataset_digest_recorded(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=3)
    first = run(suite, tmp_path / "a").journeys[0].dataset.digest
    write_dataset(tmp_path / "cases.jsonl", 4, relevant_ids=["d1"])
    assert run(suite, tmp_path / "b").journeys[0].dataset.digest != first


def test_attempts_count_the_calls_made(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/some/404?every=2", n=6, settings={"retries": 3})
    run(suite, tmp_path / "o")
    rows = {r["case_id"]: r["observation"] for r in journal(tmp_path / "o")}
    assert rows["c0000"]["status"] == "http_404" and rows["c0000"]["attempts"] == 1  # not retried
    assert "attempts" not in rows["c0001"] or rows["c0001"]["attempts"] == 1


def test_resume_reruns_changed_cases_and_drops_removed_ones(
    tmp_path: Path, fault_server: tuple[str, Any]
) -> None:
    url, log = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=6)
    out = tmp_path / "o"
    run(suite, out)
    lines = (tmp_path / "cases.jsonl").read_text().splitlines()
    changed = json.loads(lines[1])
    changed["input"] = "question one, reworded"
    lines[1] = json.dumps(changed)
    del lines[5]  # c0005 removed
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    before = log.calls["answer:question one, reworded"]
    result = run(suite, out, resume=True)
    assert log.calls["answer:question one, reworded"] == before + 1  # only the changed case
    assert result.journeys[0].n_rows == 5 and result.journeys[0].n_cases == 5
    assert any("changed cases" in n for n in result.notes)
    assert any("removed cases" in n for n in result.notes)
    ids = [r["case_id"] for r in journal(out)]
    assert sorted(ids) == ["c0000", "c0001", "c0002", "c0003", "c0004"]
    with pytest.raises(InputError, match="dataset changed"):
        changed["input"] = "reworded again"
        lines[1] = json.dumps(changed)
        (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
        run(suite, out, resume=True, resume_strict=True)
