"""Where a short ``cujeval run`` spends its time before and after the cases: the imports it
needs by group, and MLflow's own start-up (import, then opening a SQLite store, fresh and
kept), each in a new interpreter, so each figure is a cold process's.

    .venv/bin/python benchmarks/startup_breakdown.py [--repeat 3]

1. A 10-case ``cujeval run --no-mlflow`` against a 127.0.0.1 endpoint lists the modules it
   imports; a new interpreter then imports them group by group (aiohttp, which a bare client
   loop pays too; typer and rich; pydantic and yaml; numpy; cujeval's own modules; the rest),
   each group timed after the ones before it.
2. MLflow as the tracking worker starts it: ``import mlflow``, then ``MlflowClient`` on a new
   SQLite store (cujeval.tracking.store's template copy) and on the same store again.

Medians of ``--repeat`` runs. Figures quoted in docs/mlflow.md ("What logging costs").
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import whole_command

ROOT = Path(__file__).resolve().parents[1]

LIST_MODULES = """
import atexit, runpy, sys
listed = sys.argv[1]
atexit.register(lambda: open(listed, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["cujeval", "run", sys.argv[2], "--no-progress", "--no-mlflow", "--output", sys.argv[3]]
runpy.run_module("cujeval.cli", run_name="__main__")
"""

GROUPS = """
import importlib, json, sys, time
names = [
    m for m in open(sys.argv[1]).read().split()
    if not m.startswith(("_", "encodings")) and not m.endswith("__main__")
]
groups = [
    ("aiohttp (a bare client loop imports it too)", [m for m in names if m.startswith("aiohttp")]),
    ("typer and rich", ["typer", "rich.console", "rich.table"]),
    ("pydantic and yaml", ["pydantic", "yaml"]),
    ("numpy", ["numpy"]),
    ("cujeval's own modules", [m for m in names if m.startswith("cujeval")]),
    ("the rest", names),
]
out = {}
for label, mods in groups:
    t = time.perf_counter()
    for m in mods:
        try:
            importlib.import_module(m)
        except Exception:
            pass
    out[label] = time.perf_counter() - t
print(json.dumps(out))
"""

MLFLOW = """
import json, os, sys, time
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
from mlflow.tracking import MlflowClient
from cujeval.tracking.store import prepare
uri = sys.argv[1]
prepare(uri)
c = MlflowClient(tracking_uri=uri)
c.get_experiment_by_name("x") or c.create_experiment("x")
t2 = time.perf_counter()
print(json.dumps({"import mlflow": t1 - t0, "open the store": t2 - t1}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = whole_command.environment(PYTHONPATH=str(ROOT / "src"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks/fixed_latency_server.py"), "--port", str(port)]
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            time.sleep(1.0)
            suite = whole_command.write_suite(work, f"http://127.0.0.1:{port}/answer", 10, 64)
            listed = work / "modules.txt"
            cmd = [sys.executable, "-c", LIST_MODULES, str(listed), str(suite), str(work / "o")]
            subprocess.run(cmd, env=env, cwd=work, capture_output=True, check=True)
            mlflow_env = {**env, "MLFLOW_DISABLE_TELEMETRY": "true"}
            kept = f"sqlite:///{work / 'kept.db'}"  # made now, untimed: the kept store
            subprocess.run(
                [sys.executable, "-c", MLFLOW, kept],
                env=mlflow_env,
                capture_output=True,
                check=True,
            )
            figures: dict[str, list[float]] = {}
            for r in range(args.repeat):
                got = subprocess.run(
                    [sys.executable, "-c", GROUPS, str(listed)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if got.returncode:
                    raise SystemExit(got.stderr[-2000:])
                for k, v in json.loads(got.stdout).items():
                    figures.setdefault(k, []).append(v)
                for kind in ("fresh", "kept"):
                    uri = kept if kind == "kept" else f"sqlite:///{work / f'fresh-{r}.db'}"
                    got = subprocess.run(
                        [sys.executable, "-c", MLFLOW, uri],
                        env=mlflow_env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    for k, v in json.loads(got.stdout).items():
                        if k == "import mlflow" and kind == "kept":
                            continue
                        name = k if k == "import mlflow" else f"{k} ({kind})"
                        figures.setdefault(name, []).append(v)
    finally:
        server.terminate()
        server.wait(5)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"median of {args.repeat}; load average {load}, {os.cpu_count()} cores")
    print("a 10-case run's imports, group by group:")
    for name, values in figures.items():
        if name.startswith(("import mlflow", "open the store")):
            continue
        print(f"  {1000 * statistics.median(values):6.0f} ms  {name}")
    print("MLflow's start-up in the tracking worker:")
    for name, values in figures.items():
        if name.startswith(("import mlflow", "open the store")):
            print(f"  {1000 * statistics.median(values):6.0f} ms  {name}")


if __name__ == "__main__":
    main()
