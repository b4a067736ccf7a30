"""Each optional part of cujeval, where its extra is not installed, fails as bad input (exit 2,
no traceback) with a message naming the extra that brings it. The extras are installed here, so
the child process hides their packages as an install without them lacks them (import blocked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cujeval._util.extras import missing

ROOT = Path(__file__).resolve().parents[1]

# run ``module`` as __main__ with the packages in argv[1] (comma-separated) not importable
_RUN_WITHOUT = """
import runpy, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
module = sys.argv[2]
sys.argv = [module, *sys.argv[3:]]
runpy.run_module(module, run_name="__main__")
"""


def run_without(
    blocked: str, module: str, *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT, blocked, module, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def _suite(tmp_path: Path, dataset: str) -> Path:
    doc = {
        "name": "rag",
        "targets": {"rag": {"kind": "http", "url": "http://127.0.0.1:9/answer"}},
        "journeys": [
            {
                "name": "answer",
                "dataset": dataset,
                "target": "rag",
                "scorers": ["error"],
                "slos": [{"name": "no-errors", "good": "error == false", "target": 0.9}],
            }
        ],
    }
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(doc))
    return path


def test_missing_names_only_what_is_absent() -> None:
    assert missing("drift", "cujeval drift", "json", "numpy") is None
    hint = missing("judge", "an LLM judge", "json", "no_such_module_cujeval")
    assert hint == (
        "an LLM judge needs no_such_module_cujeval, which the 'judge' extra installs: "
        "pip install 'cujeval[judge]'"
    )


@pytest.mark.parametrize(
    ("extra", "blocked", "module", "args"),
    [
        (
            "judge",
            "ragas,instructor,openai",
            "cujeval.cli",
            ["score", "-i", "rows.jsonl", "-s", 'rubric={name: r, criteria: "says sorry"}',
             "-o", "out.jsonl", "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "g"],
        ),
        ("drift", "scipy", "cujeval.cli", ["drift", "rows.jsonl", "rows.jsonl"]),
        ("parquet", "datasets", "cujeval.cli", ["run", "parquet.json", "--no-mlflow"]),
        ("ray", "ray", "cujeval.cli", ["run", "jsonl.json", "--no-mlflow", "--executor", "ray"]),
        ("reference", "fastapi,uvicorn", "cujeval.cli", ["demo", "--no-mlflow"]),
        ("reference", "fastapi", "cujeval.reference", ["rag"]),
        ("reference", "uvicorn", "cujeval.reference.agent", []),
    ],
)  # fmt: skip
def test_a_missing_extra_is_named(
    tmp_path: Path, extra: str, blocked: str, module: str, args: list[str]
) -> None:
    row = {"id": "r1", "input": "Money back?", "answer": "Sorry, a refund is on its way."}
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "cases.parquet").write_bytes(b"PAR1")
    _suite(tmp_path, "cases.parquet").rename(tmp_path / "parquet.json")
    _suite(tmp_path, str(ROOT / "datasets" / "support_rag.jsonl")).rename(tmp_path / "jsonl.json")
    r = run_without(blocked, module, *args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"which the '{extra}' extra installs: pip install 'cujeval[{extra}]'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out.jsonl").exists()
    assert not list(tmp_path.glob("reports/**/journal.jsonl"))  # nothing was run
    assert not list(tmp_path.glob("reports/*/*"))  # and no run folder was left behind
