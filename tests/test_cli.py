"""The command line: exit codes, clear errors without tracebacks, fast --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import cujeval, write_suite
from tests.servers import free_port


def test_help_is_light() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom cujeval.cli import application\n"
        "app = application()\n"
        "for args in (['--help'], ['run', '--help'], ['demo', '--help']):\n"
        "    r = CliRunner().invoke(app, args)\n    assert r.exit_code == 0, r.output\n"
        "heavy = {'torch', 'mlflow', 'ragas', 'sentence_transformers', 'pandas'}\n"
        "heavy &= set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_malformed_yaml_exits_2_with_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, url="http://127.0.0.1:9/answer")
    text = suite.read_text().splitlines()
    text[3] = "    url: http://127.0.0.1:9/answer: oops"
    suite.write_text("\n".join(text))
    r = cujeval("run", str(suite), "--no-mlflow")
    assert r.returncode == 2
    assert f"{suite}:4" in r.stderr and "invalid YAML" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_dataset_row_without_id_exits_2(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, url="http://127.0.0.1:9/answer")
    with (tmp_path / "cases.jsonl").open("a") as f:
        f.write(json.dumps({"input": "no id here"}) + "\n")
    r = cujeval("run", str(suite), "--no-mlflow")
    assert r.returncode == 2
    assert f"{tmp_path / 'cases.jsonl'}:11: field 'id': is required" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_scorer_suggests(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, url="http://127.0.0.1:9/answer", scorers=["latency_sec"])
    r = cujeval("run", str(suite), "--no-mlflow")
    assert r.returncode == 2 and "unknown scorer 'latency_sec'" in r.stderr
    assert "latency_s" in r.stderr and "Traceback" not in r.stderr


def test_refused_connections_exit_3_and_keep_results(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path, url=f"http://127.0.0.1:{free_port()}/answer", n=20, settings={"retries": 0}
    )
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 3, r.stderr
    assert "unreachable" in r.stderr and "Traceback" not in r.stderr
    result = json.loads((tmp_path / "o" / "results.json").read_text())
    assert result["status"] == "aborted"


def test_run_writes_reports(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=60)
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "no-errors" in r.stdout and "MET" in r.stdout and "gate PASSED" in r.stdout
    for name in ("results.json", "journal.jsonl", "junit.xml", "summary.md"):
        assert (tmp_path / "o" / name).exists(), name


def test_breach_exits_1(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/some/500", n=12, settings={"retries": 0})
    r = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert r.returncode == 1, r.stderr
    assert "j/no-errors BREACHED" in r.stdout


def test_bad_flag_exits_2(tmp_path: Path) -> None:
    r = cujeval("run", "x.yaml", "--gate", "sometimes")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = cujeval("demo", "--faults", "eror_rate=0.5", "--no-mlflow")
    assert r.returncode == 2 and "error_rate" in r.stderr
    r = cujeval("demo", "--faults", "error_rate=2", "--no-mlflow")
    assert r.returncode == 2 and "0 <= VALUE <= 1" in r.stderr


def test_score_offline(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps(
            {
                "id": "r1",
                "input": "q",
                "answer": "the answer",
                "relevant_ids": ["a"],
                "contexts": [{"id": "b", "text": "x"}, {"id": "a", "text": "y"}],
            }
        )
        + "\n"
    )
    out = tmp_path / "scored.jsonl"
    r = cujeval(
        "score",
        "--input",
        str(rows),
        "--scorer",
        "mrr",
        "--scorer",
        "precision@2",
        "--output",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    scored = json.loads(out.read_text())
    assert scored["scores"]["mrr"]["value"] == 0.5
    assert scored["scores"]["precision@2"]["value"] == 0.5
    assert scored["answer"] == "the answer"
    rows.write_text('{"input": "q", "answer": 3}\n')
    r = cujeval("score", "--input", str(rows), "--scorer", "mrr")
    assert r.returncode == 2 and f"{rows}:1" in r.stderr


def test_unknown_instruction_in_dataset_exits_2(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path, url="http://127.0.0.1:9/answer", scorers=["instruction_following"]
    )
    with (tmp_path / "cases.jsonl").open("a") as f:
        f.write(
            json.dumps(
                {
                    "id": "z",
                    "input": "q",
                    "instructions": [
                        {"id": "detectable_format:number_bullet_list", "kwargs": {"num_bullets": 3}}
                    ],
                }
            )
            + "\n"
        )
        f.write(
            json.dumps(
                {
                    "id": "y",
                    "input": "q",
                    "instructions": [
                        {
                            "id": "length_constraints:number_words",
                            "kwargs": {"relation": "about", "num_words": 3},
                        }
                    ],
                }
            )
            + "\n"
        )
    r = cujeval("run", str(suite), "--no-mlflow")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{tmp_path / 'cases.jsonl'}:11:" in r.stderr
    assert "detectable_format:number_bullet_lists" in r.stderr  # the closest valid id
    lines = (tmp_path / "cases.jsonl").read_text().splitlines()
    (tmp_path / "cases.jsonl").write_text("\n".join(lines[:10] + lines[11:]) + "\n")
    r = cujeval("run", str(suite), "--no-mlflow")
    assert r.returncode == 2 and f"{tmp_path / 'cases.jsonl'}:11:" in r.stderr
    assert "length_constraints:number_words" in r.stderr and "relation" in r.stderr
