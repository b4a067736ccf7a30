"""One pipeline, one gate: every door (the command line, pytest, the Python API) reads the same
decision, and none passes against its own evidence. Real servers on 127.0.0.1 and a real
MLflow store throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import cujeval, write_suite
from tests.servers import free_port

P95_BREACH = [
    {"name": "p95", "objective": "p95(latency_s) <= 0.1"},
    {"name": "p99", "objective": "p99(latency_s) <= 0.1"},
]


def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    return data


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["verdict"] for j in doc["journeys"] for s in j["slos"]}


def test_a_latency_breach_on_20_cases_exits_1(tmp_path: Path, fault_server: Any) -> None:
    """Every case answered in 0.3 s against p95/p99 <= 0.1 s: provably breached, though 20
    cases could never prove either MET."""
    url, _ = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/slow?s=0.3",
        n=20,
        scorers=["error", "latency_s"],
        slos=P95_BREACH,
        settings={"concurrency": 20},
    )
    r = cujeval("run", str(suite), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "o"))
    doc = results(tmp_path / "o")
    assert r.returncode == 1, r.stderr
    assert verdicts(doc) == {"p95": "BREACHED", "p99": "BREACHED"}
    kinds = {(g["slo"], g["kind"], g["action"]) for g in doc["gate"]["reasons"]}
    assert ("p95", "breached", "block") in kinds and ("p99", "breached", "block") in kinds
    # warned before the run: 20 cases can prove neither MET
    assert "small sample: 20 case(s) cannot prove p95(latency_s) <= 0.1 MET" in r.stderr


def test_a_small_sample_warns_before_the_run(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    slos = [{"name": "ok", "good": "error == false", "target": 0.9}]
    suite = write_suite(tmp_path, url=f"{url}/answer", n=15, scorers=["error"], slos=slos)
    r = cujeval("run", str(suite), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "o"))
    assert r.returncode == 0  # INCONCLUSIVE warns
    assert "15 case(s) can show at most 84.7% at 95% confidence" in r.stderr
    assert "25 cases could prove it" in r.stderr
    doc = results(tmp_path / "o")
    assert {g["kind"] for g in doc["gate"]["reasons"]} == {"small_sample", "inconclusive"}
    assert all(g["action"] == "warn" for g in doc["gate"]["reasons"])


# ---- error budgets: every door reads the same ledger ---------------------------------------


def _budget_suite(directory: Path, url: str, **budget: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = write_suite(
        directory,
        url=url,
        n=20,
        scorers=["error"],
        slos=[{"name": "no-errors", "good": "error == false", "target": 0.8}],
        settings={"retries": 0},
    )
    doc = yaml.safe_load(path.read_text())
    doc["budget"] = {"window": 28, "block_exhausted": True, **budget}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def spent_budget(tmp_path_factory: pytest.TempPathFactory, fault_server: Any) -> dict[str, Any]:
    """A store whose history for suite ``t`` holds three half-failing runs: the error budget
    of ``no-errors`` (20 % of the cases in the window) is spent."""
    url, _ = fault_server
    root = tmp_path_factory.mktemp("budget")
    store = f"sqlite:///{root / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    bad = _budget_suite(root / "bad", f"{url}/some/500?every=2")
    for i in range(3):
        r = cujeval("run", str(bad), "--no-progress", "-o", str(root / f"bad{i}"), env=env)
        assert r.returncode == 1, r.stderr
    good = _budget_suite(root / "good", f"{url}/answer")
    return {"root": root, "store": store, "env": env, "good": good}


def test_an_exhausted_budget_blocks_the_command_line(spent_budget: dict[str, Any]) -> None:
    out = spent_budget["root"] / "cli"
    r = cujeval(
        "run", str(spent_budget["good"]), "--no-progress", "-o", str(out), env=spent_budget["env"]
    )
    doc = results(out)
    assert verdicts(doc) == {"no-errors": "MET"}  # today's run passes on its own
    assert r.returncode == 1, r.stderr
    (reason,) = [g for g in doc["gate"]["reasons"] if g["kind"] == "budget_exhausted"]
    assert reason["journey"] == "j" and reason["slo"] == "no-errors" and reason["action"] == "block"


def test_an_exhausted_budget_blocks_pytest(spent_budget: dict[str, Any]) -> None:
    out = spent_budget["root"] / "pytest"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(spent_budget["good"]),
            "-q",
            "-p",
            "no:cacheprovider",
            "--cuj-output",
            str(out),
            "--cuj-tracking-uri",
            spent_budget["store"],
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=spent_budget["root"],
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "j/no-errors: budget exhausted: " in r.stdout and "1 failed, 1 passed" in r.stdout


def test_an_exhausted_budget_blocks_the_python_api(spent_budget: dict[str, Any]) -> None:
    import cujeval

    suite = cujeval.load_suite(spent_budget["good"])
    options = cujeval.RunOptions(
        output_dir=spent_budget["root"] / "api",
        tracking_uri=spent_budget["store"],
        progress=False,
    )
    result = cujeval.evaluate_sync(suite, options)
    assert result.slo("no-errors").met
    assert result.gate.exit_code == 1 and not result.gate.passed
    assert [r.kind for r in result.gate.reasons] == ["budget_exhausted"]


@pytest.mark.parametrize(("policy", "code"), [("block", 1), ("warn", 0)])
def test_an_unreadable_budget_history_does_not_pass(
    tmp_path: Path, fault_server: Any, policy: str, code: int
) -> None:
    url, _ = fault_server
    suite = _budget_suite(tmp_path / "s", f"{url}/answer", on_unavailable=policy)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"}
    r = cujeval("run", str(suite), "--no-progress", "-o", str(tmp_path / "o"), env=env)
    assert r.returncode == code, r.stderr
    doc = results(tmp_path / "o")
    (reason,) = [g for g in doc["gate"]["reasons"] if g["kind"] == "budget_unknown"]
    assert reason["action"] == ("block" if policy == "block" else "warn")
    assert "budget history cannot be read" in reason["detail"]


# ---- compare -------------------------------------------------------------------------------


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_compare_of_runs_sharing_no_case_is_bad_input(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    a = write_suite(
        _mkdir(tmp_path / "a"),
        url=f"{url}/answer",
        n=5,
        scorers=["error"],
        slos=[{"name": "ok", "good": "error == false", "target": 0.5}],
    )
    assert cujeval("run", str(a), "--no-mlflow", "-o", str(tmp_path / "ra")).returncode == 0
    b_dir = _mkdir(tmp_path / "b")
    b = write_suite(
        b_dir,
        url=f"{url}/answer",
        n=5,
        scorers=["error"],
        slos=[{"name": "ok", "good": "error == false", "target": 0.5}],
    )
    cases = (b_dir / "cases.jsonl").read_text().replace('"c0', '"other-c0')
    (b_dir / "cases.jsonl").write_text(cases)
    assert cujeval("run", str(b), "--no-mlflow", "-o", str(tmp_path / "rb")).returncode == 0
    r = cujeval("compare", str(tmp_path / "ra"), str(tmp_path / "rb"), "--no-log")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "nothing to compare" in r.stderr and "share no case id" in r.stderr
    assert "Traceback" not in r.stderr


def test_compare_of_a_five_case_collapse_is_not_no_change(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    slos = [{"name": "ok", "good": "error == false", "target": 0.5}]
    good = write_suite(
        _mkdir(tmp_path / "g"), url=f"{url}/answer", n=5, scorers=["error"], slos=slos
    )
    bad = write_suite(
        _mkdir(tmp_path / "x"),
        url=f"{url}/status/500",
        n=5,
        scorers=["error"],
        slos=slos,
        settings={"retries": 0},
    )
    cujeval("run", str(good), "--no-mlflow", "-o", str(tmp_path / "rg"))
    cujeval("run", str(bad), "--no-mlflow", "-o", str(tmp_path / "rx"))
    r = cujeval("compare", str(tmp_path / "rg"), str(tmp_path / "rx"), "--no-log")
    assert "NO CHANGE" not in r.stdout and "INCONCLUSIVE" in r.stdout, r.stdout
    assert "too few pairs" in r.stdout


# ---- answers the target gave are judged, not "could not complete" -------------------------


def _chat_suite(tmp_path: Path, base_url: str) -> Path:
    from tests.helpers import write_dataset

    write_dataset(tmp_path / "cases.jsonl", 10)
    doc = {
        "name": "chat",
        "targets": {"m": {"kind": "openai", "base_url": base_url, "model": "m"}},
        "settings": {"retries": 0},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "m",
                "scorers": ["error"],
                "slos": [{"name": "no-errors", "good": "error == false", "target": 0.5}],
            }
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("route", "status"),
    [("silent/1", "empty"), ("interrupted", "truncated"), ("cut", "cut")],
)
def test_a_target_that_answered_badly_fails_the_gate_with_exit_1(
    tmp_path: Path, fault_server: Any, route: str, status: str
) -> None:
    url, _ = fault_server
    suite = _chat_suite(tmp_path, f"{url}/{route}/v1")
    r = cujeval("run", str(suite), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "o"))
    assert r.returncode == 1, r.stderr
    doc = results(tmp_path / "o")
    (journey,) = doc["journeys"]
    assert journey["errors_by_status"] == {status: 10}
    assert doc["status"] == "completed" and "--resume" not in r.stderr
    assert verdicts(doc) == {"no-errors": "BREACHED"}


def test_cut_answers_may_be_judged_ok(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    suite = _chat_suite(tmp_path, f"{url}/cut/v1")
    doc = yaml.safe_load(suite.read_text())
    doc["settings"]["cut_answer"] = "ok"
    suite.write_text(yaml.safe_dump(doc))
    r = cujeval("run", str(suite), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr


# ---- run ids -------------------------------------------------------------------------------


def test_runs_into_one_folder_name_get_distinct_ids(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    suite = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=3,
        scorers=["error"],
        slos=[{"name": "ok", "good": "error == false", "target": 0.5}],
    )
    ids = set()
    for _ in range(2):
        cujeval("run", str(suite), "--no-mlflow", "-o", str(tmp_path / "pr"))
        ids.add(results(tmp_path / "pr")["run_id"])
    assert len(ids) == 2 and all(i.startswith("pr-") for i in ids)


def test_a_run_id_prefix_resolves_and_an_ambiguous_one_lists_the_candidates(
    spent_budget: dict[str, Any], tmp_path: Path
) -> None:
    env = spent_budget["env"]
    ids = [results(spent_budget["root"] / f"bad{i}")["run_id"] for i in range(3)]
    r = cujeval("compare", ids[0][:6], ids[1], "--no-log", cwd=tmp_path, env=env)
    assert r.returncode in (0, 1) and "compare: candidate" in r.stdout, r.stderr
    r = cujeval("compare", "bad", ids[1], "--no-log", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "is ambiguous: it matches 3 runs" in r.stderr
    assert all(i in r.stderr for i in ids)


def test_the_same_suite_gets_the_same_gate_through_every_door(
    tmp_path: Path, fault_server: Any
) -> None:
    """The command line, pytest and the Python API: one pipeline, so one decision."""
    import cujeval as api_module

    url, _ = fault_server
    slos = [
        {"name": "no-errors", "good": "error == false", "target": 0.9},
        {"name": "mostly", "good": "error == false", "target": 0.4},
        {"name": "fast", "objective": "p95(latency_s) <= 5"},
        {"name": "each", "good": "error == false", "every_case": True, "blocking": False},
    ]
    suite = write_suite(
        tmp_path, url=f"{url}/some/500?every=3", n=30, scorers=["error", "latency_s"],
        slos=slos, settings={"retries": 0},
    )  # fmt: skip

    def decision(doc: dict[str, Any]) -> tuple[int, set[tuple[Any, ...]]]:
        gate = doc["gate"]
        reasons = {(r["kind"], r["action"], r["journey"], r["slo"]) for r in gate["reasons"]}
        return gate["exit_code"], reasons

    cli = cujeval("run", str(suite), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "cli"))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
         "--cuj-output", str(tmp_path / "pytest"), "--cuj-no-mlflow"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    api = api_module.evaluate_sync(
        api_module.load_suite(suite),
        api_module.RunOptions(output_dir=tmp_path / "api", mlflow=False, progress=False),
    )
    assert cli.returncode == 1 and r.returncode == 1 and api.gate.exit_code == 1
    expected = decision(results(tmp_path / "cli"))
    assert decision(results(tmp_path / "pytest" / "t")) == expected
    assert decision(json.loads(api.model_dump_json())) == expected
    kinds = {k for k, *_ in expected[1]}
    assert {"breached", "small_sample", "inconclusive"} <= kinds
    assert ("breached", "warn", "j", "each") in expected[1]  # informational: warns only
