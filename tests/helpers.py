"""Small builders for suites and datasets written to a temporary directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def write_dataset(path: Path, n: int, **extra: Any) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"c{i:04d}", "input": f"question {i}", **extra}) + "\n")
    return path


def write_suite(
    directory: Path,
    *,
    url: str,
    n: int = 10,
    scorers: list[Any] | None = None,
    slos: list[dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
    extra_journeys: list[dict[str, Any]] | None = None,
    targets: dict[str, Any] | None = None,
) -> Path:
    write_dataset(directory / "cases.jsonl", n, relevant_ids=["d1"])
    suite = {
        "name": "t",
        "targets": {"svc": {"kind": "http", "url": url, "timeout_s": 5}, **(targets or {})},
        "settings": {"concurrency": 4, "retries": 2, "backoff_s": 0.01, **(settings or {})},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "svc",
                "scorers": scorers or ["error", "latency_s", "precision@2"],
                "slos": slos
                or [
                    {"name": "no-errors", "good": "error == false", "target": 0.9},
                    {"name": "fast", "objective": "p95(latency_s) <= 5"},
                ],
            },
            *(extra_journeys or []),
        ],
    }
    path = directory / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def cujeval(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh process; exit code, stdout and stderr come back."""
    return subprocess.run(
        [sys.executable, "-m", "cujeval.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )


def write_rag_suite(
    path: Path,
    url: str,
    slos: list[dict[str, Any]],
    *,
    name: str = "rag",
    scorers: list[str] | None = None,
) -> Path:
    """One journey (``answer``) over the bundled RAG dataset against the HTTP service at
    ``url`` (its ``/answer`` route), written to ``path``."""
    doc = {
        "name": name,
        "targets": {"rag": {"kind": "http", "url": f"{url}/answer"}},
        "journeys": [
            {
                "name": "answer",
                "dataset": str(ROOT / "datasets" / "support_rag.jsonl"),
                "target": "rag",
                "scorers": scorers or ["error", "latency_s"],
                "slos": slos,
            }
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def run_folder(directory: Path, url: str, n: int) -> Path:
    """The folder a finished run leaves when nothing is logged to MLflow: write_suite's suite
    of ``n`` cases against ``url``, run, and its reports written (``directory / "run"``)."""
    from cujeval.pipeline import evaluate_sync
    from cujeval.spec.options import RunOptions
    from cujeval.spec.suite import load_suite

    out = directory / "run"
    suite = write_suite(directory, url=url, n=n)
    evaluate_sync(load_suite(suite), RunOptions(output_dir=out, progress=False, mlflow=False))
    return out


def judged(name: str, results: list[Any]) -> Any:
    """A journey's SLO verdicts as results.json holds them (what the gate reads)."""
    from cujeval.engine.execution import slo_entry
    from cujeval.spec.results import DatasetEntry, JourneyResult

    return JourneyResult(
        name=name,
        target="t",
        dataset=DatasetEntry(path="d.jsonl", digest="x", n_cases=100),
        scorers=["error"],
        n_rows=100,
        n_errors=0,
        slis=[],
        slos=[slo_entry(r) for r in results],
    )


def run_in_terminal(suite: Path, out: Path, tracking_uri: str) -> subprocess.Popen[str]:
    """``cujeval run SUITE -o OUT`` started as a terminal starts a command, for a test that
    stops it with Ctrl-C (``os.killpg(proc.pid, signal.SIGINT)``): a process group of its own,
    and SIGINT at its default even where the tests run as a background job (a shell starts
    those with SIGINT ignored, and children inherit that)."""
    import os
    import signal

    return subprocess.Popen(
        [sys.executable, "-m", "cujeval.cli", "run", str(suite), "-o", str(out), "--no-progress"],
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
