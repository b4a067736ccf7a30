"""What logging one invocation to MLflow costs: the reporter of an older commit beside the
current one, on the same synthetic run, each invocation in a fresh process (as `cujeval run`
would), on a SQLite store (and, with ``--server``, through ``mlflow server``).

    .venv/bin/python benchmarks/mlflow_overhead.py                      # before: 4e102aa
    .venv/bin/python benchmarks/mlflow_overhead.py --before 0cf2bae --cases 200 --server

Reported per variant (median of ``--repeat`` fresh processes): ``import mlflow`` alone, the
store's own start-up (MLflow importing SQLAlchemy and its models, or the first request to a
server: paid by any MLflow logging), and the reporter's ``log()`` call (runs, params,
metrics, tags, tables, artifacts, dataset input; traces apart in their own row). The
synthetic run has 2 journeys of ``--cases`` cases, 12 SLIs and 8 SLOs each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLIS = ("error", "latency_s", "precision@4", "recall@4", "hit_rate@4", "mrr", "ndcg@4")
SLIS += ("cost_usd", "answer_similarity", "token_f1", "faithfulness", "hallucination")

PROBE = """
import json, sys, time
t0 = time.perf_counter()
import mlflow  # noqa: F401
t1 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import importlib.util
from pathlib import Path
from cujeval.spec.results import RunResult
spec = importlib.util.spec_from_file_location("reporter", sys.argv[2])
reporter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reporter)
folder = Path(sys.argv[3])
result = RunResult.read(folder)
kwargs = {"tracking_uri": sys.argv[4]}
if sys.argv[5] != "-":
    kwargs["traces"] = sys.argv[5] == "1"
from mlflow.tracking import MlflowClient
t2 = time.perf_counter()
MlflowClient(sys.argv[4]).search_experiments(max_results=1)  # the store's own start-up
t3 = time.perf_counter()
reporter.log(result, folder, **kwargs)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "store": t3 - t2, "log": t4 - t3}))
"""


def synthetic_run(folder: Path, cases: int, run_id: str) -> None:
    """A finished run folder: results.json, journal.jsonl and the text reports."""
    sys.path.insert(0, str(ROOT / "src"))
    from cujeval.spec.results import (
        DatasetEntry,
        GateEntry,
        JourneyResult,
        RunResult,
        SLIEntry,
        SLOEntry,
    )

    folder.mkdir(parents=True, exist_ok=True)
    journeys = []
    with (folder / "journal.jsonl").open("w") as f:
        for j in ("grounded-answer", "concise-cited-answer"):
            for i in range(cases):
                bad = i % 17 == 0
                scores = {
                    s: {"value": (bad if s in ("error", "hallucination") else 0.5 + i % 7 / 20)}
                    for s in SLIS
                }
                f.write(
                    json.dumps(
                        {
                            "journey": j,
                            "case_id": f"q-{i:04d}",
                            "epoch": 0,
                            "case_hash": f"{i:016x}",
                            "input": f"How do I do thing {i}?",
                            "observation": {
                                "answer": f"You do thing {i} like this [kb-{i % 40:03d}]. " * 3,
                                "contexts": [
                                    {"id": f"kb-{k:03d}", "text": "passage " * 60, "rank": k}
                                    for k in range(1, 5)
                                ],
                                "usage": {"prompt_tokens": 400, "completion_tokens": 60},
                                "model": "reference-extractive-1",
                                "latency_s": 0.2 + i % 5 / 10,
                                "status": "http_500" if bad else "ok",
                            },
                            "scores": scores,
                        }
                    )
                    + "\n"
                )
            slos = [
                SLOEntry(
                    name=f"slo-{k}",
                    kind="ratio",
                    expression=f"{SLIS[k]} >= 0.5",
                    verdict="MET",
                    estimate=0.95,
                    lower=0.9,
                    upper=0.98,
                    n=cases,
                    good=0.95 * cases,
                    target=0.9,
                )
                for k in range(8)
            ]
            slis = [
                SLIEntry(name=s, n=cases, mean=0.5, p50=0.5, p95=0.9, min=0.0, max=1.0)
                for s in SLIS
            ]
            journeys.append(
                JourneyResult(
                    name=j,
                    target="http POST http://127.0.0.1:8765/answer",
                    dataset=DatasetEntry(
                        path="suites/../datasets/support_rag.jsonl", digest="d" * 64, n_cases=cases
                    ),
                    scorers=list(SLIS),
                    n_rows=cases,
                    n_errors=cases // 17 + 1,
                    n_cases=cases,
                    slis=slis,
                    slos=slos,
                )
            )
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    RunResult(
        run_id=run_id,
        suite="bench_overhead",
        suite_path="suites/bench.yaml",
        started_at=now,
        finished_at=now,
        status="completed",
        cujeval_version="bench",
        settings={"confidence": 0.95, "epochs": 1},
        journeys=journeys,
        gate=GateEntry(passed=True, exit_code=0, policy="gate=interval", blocking=[], warnings=[]),
    ).write(folder)
    for name in ("summary.md", "junit.xml", "report.html"):
        (folder / name).write_text("x" * 20_000)


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
         f"sqlite:///{root / 'server.db'}", "--artifacts-destination", str(root / "art"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("mlflow server did not start")


def measure(
    src: Path, reporter: Path, store: str, cases: int, traces: str, repeat: int, tmp: Path
) -> dict[str, float]:
    got: dict[str, list[float]] = {"import": [], "store": [], "log": []}
    for k in range(repeat + 1):  # the first one warms the store (schema, experiment)
        folder = tmp / f"run-{time.time_ns()}"
        synthetic_run(folder, cases, folder.name)
        r = subprocess.run(
            [sys.executable, "-c", PROBE, str(src), str(reporter), str(folder), store, traces],
            capture_output=True,
            text=True,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            timeout=900,
        )
        if r.returncode != 0:
            raise SystemExit(r.stderr[-3000:])
        line = json.loads(r.stdout.strip().splitlines()[-1])
        if k:
            for key in got:
                got[key].append(line[key])
        shutil.rmtree(folder, ignore_errors=True)
    return {k: statistics.median(v) for k, v in got.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="4e102aa", help="commit of the older reporter")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", action="store_true", help="also through `mlflow server`")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cujeval-mlflow-bench-"))
    old = tmp / "reporter_before.py"
    old.write_text(
        subprocess.run(
            ["git", "show", f"{args.before}:src/cujeval/tracking/logger.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    new = ROOT / "src" / "cujeval" / "reporters" / "mlflow.py"
    src = ROOT / "src"
    stores = [("sqlite", f"sqlite:///{tmp / 'mlflow.db'}")]
    server = None
    if args.server:
        server, url = start_server(tmp)
        stores.append(("server", url))
    variants = [
        (f"before ({args.before})", old, "-"),
        ("after, no traces", new, "0"),
        ("after, with traces", new, "1"),
    ]
    print(f"{args.cases} cases x 2 journeys, median of {args.repeat} fresh processes")
    print(f"{'store':8} {'variant':24} {'import mlflow':>14} {'store start':>12} {'log()':>8}")
    try:
        for store_name, store in stores:
            for name, reporter, traces in variants:
                m = measure(src, reporter, store, args.cases, traces, args.repeat, tmp)
                print(
                    f"{store_name:8} {name:24} {m['import']:>13.2f}s {m['store']:>11.2f}s "
                    f"{m['log']:>7.2f}s"
                )
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
