"""The gate never passes without evidence: black-box through the CLI and the public API,
against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cujeval.errors import InputError
from cujeval.pipeline import evaluate, evaluate_sync
from cujeval.scorers.base import Score, Scorer, scorer
from cujeval.spec.options import RunOptions
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.suite import load_suite
from tests.helpers import cujeval, write_dataset, write_suite
from tests.servers import free_port


def results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())


def test_unknown_sli_is_bad_input_naming_the_line(tmp_path: Path, fault_server: Any) -> None:
    url, _log = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/answer",
        slos=[{"name": "typo", "good": "eror == false", "target": 0.9}],
    )
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert "unknown SLI 'eror'" in r.stderr and "did you mean 'error'" in r.stderr
    line = next(i for i, t in enumerate(suite.read_text().splitlines(), 1) if "name: typo" in t)
    assert f"suite.yaml:{line}:" in r.stderr and "slos[0].good" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o" / "journal.jsonl").exists()


def test_two_scorers_writing_one_sli_is_bad_input(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", scorers=["error", "latency_s", "error"])
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "writes the SLI 'error'" in r.stderr, r.stderr


@pytest.mark.parametrize("retries", [0, 2])
def test_two_case_journey_against_a_target_that_is_down_never_passes(
    tmp_path: Path, retries: int
) -> None:
    suite = write_suite(
        tmp_path, url=f"http://127.0.0.1:{free_port()}/answer", n=2, settings={"retries": retries}
    )
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 3, r.stderr
    # 2 refused calls: every call failed; 6 refused attempts: unreachable after five in a row
    reason = "answered no call" if retries == 0 else "is unreachable"
    assert reason in r.stderr and "Traceback" not in r.stderr
    assert results(tmp_path / "o")["gate"]["passed"] is False


def test_unreachable_judge_ends_the_run(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    path = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=4,
        scorers=["error", "llm_faithfulness"],
        slos=[{"name": "grounded", "good": "llm_faithfulness >= 0.8", "target": 0.5}],
    )
    suite = yaml.safe_load(path.read_text())
    suite["judge"] = {
        "base_url": f"http://127.0.0.1:{free_port()}/v1",
        "model": "judge",
        "max_retries": 0,
        "cache_dir": str(tmp_path / "cache"),
    }
    path.write_text(yaml.safe_dump(suite))
    r = cujeval("run", str(path), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 3, r.stderr
    assert "judge" in r.stderr and "unreachable" in r.stderr and "Traceback" not in r.stderr
    assert results(tmp_path / "o")["status"] == "aborted"


@scorer("always_fails", outputs=("always_fails",))
def _always_fails() -> Scorer:
    async def run(case: GoldenCase, obs: Observation) -> dict[str, Score]:
        raise RuntimeError("model file missing")

    return run


def test_a_scorer_that_raises_blocks_the_gate_and_is_counted_apart(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    path = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=30,
        scorers=["error", "always_fails"],
        slos=[
            {"name": "no-errors", "good": "error == false", "target": 0.9},
            {"name": "custom", "good": "always_fails >= 1", "target": 0.9},
        ],
    )
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )
    journey = result.journeys[0]
    assert journey.scorer_errors == {"always_fails": 30}
    custom = {s.name: s for s in journey.slos}["custom"]
    assert custom.verdict == "NO_DATA" and custom.n_scorer_errors == 30
    assert result.gate.exit_code == 1
    assert any("30 scorer errors" in b for b in result.gate.blocking)
    assert "j/custom NO_DATA" in result.gate.blocking


def test_no_data_blocks_unless_the_policy_says_warn(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    slos = [
        {"name": "no-errors", "good": "error == false", "target": 0.9},
        {"name": "retrieval", "good": "precision@2 >= 0.5", "target": 0.5},
    ]
    write_dataset(tmp_path / "plain.jsonl", 30)  # no relevant_ids: precision is not scorable
    path = write_suite(tmp_path, url=f"{url}/answer", n=30, slos=slos)
    suite = yaml.safe_load(path.read_text())
    suite["journeys"][0]["dataset"] = "plain.jsonl"
    path.write_text(yaml.safe_dump(suite))
    blocked = evaluate_sync(
        load_suite(path), RunOptions(output_dir=tmp_path / "a", progress=False, mlflow=False)
    )
    assert blocked.gate.exit_code == 1 and "j/retrieval NO_DATA" in blocked.gate.blocking
    suite["settings"]["no_data"] = "warn"
    path.write_text(yaml.safe_dump(suite))
    warned = evaluate_sync(
        load_suite(path), RunOptions(output_dir=tmp_path / "b", progress=False, mlflow=False)
    )
    assert warned.gate.exit_code == 0 and "j/retrieval NO_DATA" in warned.gate.warnings


def test_epochs_count_cases_not_repeats(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=30)
    r = cujeval("run", str(suite), "--no-mlflow", "--epochs", "3", "--output", str(tmp_path / "o"))
    assert r.returncode in (0, 1), r.stderr
    journey = results(tmp_path / "o")["journeys"][0]
    assert journey["n_rows"] == 90 and journey["n_cases"] == 30
    slo = {s["name"]: s for s in journey["slos"]}["no-errors"]
    assert slo["n"] == 30 and slo["n_rows"] == 90
    assert slo["pass_all_k"] == 1.0 and slo["pass_any_k"] == 1.0


def test_a_target_rate_limiting_every_call_ends_within_the_run_deadline(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/flaky?ns=deadline&fail=99999&status=429&retry_after=99999",
        n=20,
        settings={"retries": 3, "backoff_s": 0.5},
    )
    start = time.monotonic()
    r = cujeval(
        "run",
        str(suite),
        "--no-mlflow",
        "--max-duration",
        "4",
        "--output",
        str(tmp_path / "o"),
        timeout=120,
    )
    assert r.returncode == 3, r.stderr
    assert time.monotonic() - start < 60
    assert "deadline of 4 s" in r.stderr and "Traceback" not in r.stderr
    assert results(tmp_path / "o")["status"] == "aborted"


def test_a_target_rate_limiting_every_call_is_given_up_on(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/flaky?ns=giveup&fail=99999&status=429&retry_after=99999",
        n=20,
        settings={"retries": 3, "max_retry_after_s": 0.2, "give_up_after_s": 1.5},
    )
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"), timeout=120)
    assert r.returncode == 3, r.stderr
    assert "rate-limited every call" in r.stderr


def test_bad_overrides_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--concurrency"):
        RunOptions.build(output_dir=tmp_path, concurrency=0)
    with pytest.raises(InputError, match="--epochs"):
        RunOptions.build(output_dir=tmp_path, epochs=-3)
    r = cujeval("run", "suite.yaml", "--epochs", "-3", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_run_is_usable_from_a_running_loop(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    suite = load_suite(write_suite(tmp_path, url=f"{url}/answer", n=5))
    options = RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)

    async def inside() -> None:
        result = await evaluate(suite, options)
        assert result.journeys[0].n_rows == 5
        with pytest.raises(RuntimeError, match="await evaluate"):
            evaluate_sync(suite, options)

    asyncio.run(inside())
    assert (tmp_path / "o" / "results.json").exists()  # the pipeline wrote the reports
