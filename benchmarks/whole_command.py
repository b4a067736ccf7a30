"""Whole-command wall time of ``cujeval run``: start-up, calls, one regex check, verdicts,
reports (MLflow off), for N cases at concurrency C against a 127.0.0.1 endpoint with a fixed
latency, beside a bare aiohttp loop making the same requests.

    .venv/bin/python benchmarks/whole_command.py                 # N = 10 and 1,000, C = 64
    .venv/bin/python benchmarks/whole_command.py --before /tmp/old/src   # also an older tree
    .venv/bin/python benchmarks/whole_command.py --mlflow        # also with MLflow logging on

``--before SRC`` runs the same command with ``PYTHONPATH=SRC`` (a checkout's src folder, e.g.
from ``git worktree add /tmp/old <commit>``), so both trees are measured in one run on one
machine state. ``--mlflow`` adds, for each tree, the command with MLflow on (a SQLite store in
the work folder, created by an untimed first run, as a CI job's second invocation finds it):
``+mlflow`` logs runs, params, metrics, tags, tables and artifacts (traces off), ``+traces``
also every case as a trace; ``overhead`` is ``+mlflow`` minus the same tree without MLflow.
Each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BARE = """
import asyncio, sys, time, aiohttp
async def main(url, n, c):
    async with aiohttp.ClientSession() as s:
        q = iter(range(n))
        async def worker():
            for i in q:
                async with s.post(url, json={"question": f"q {i}"}) as r:
                    await r.json()
        await asyncio.gather(*(worker() for _ in range(c)))
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def write_suite(directory: Path, url: str, n: int, c: int) -> Path:
    with (directory / "cases.jsonl").open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"c{i:05d}", "input": f"question {i}"}) + "\n")
    suite = {
        "name": "bench",
        "targets": {"svc": {"kind": "http", "url": url, "timeout_s": 10}},
        "settings": {"concurrency": c, "retries": 0},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "svc",
                "instructions": [{"id": "product:regex", "kwargs": {"pattern": "answer"}}],
                "scorers": ["error", "latency_s", "instruction_following"],
                "slos": [
                    {"name": "ok", "good": "error == false", "target": 0.9},
                    {"name": "format", "good": "instruction_following == true", "target": 0.9},
                ],
            }
        ],
    }
    path = directory / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, bytecode caching allowed: an installed package has its
    .pyc files, so a run that compiles every module from source (PYTHONDONTWRITEBYTECODE=1,
    set on some machines) measures the machine, not the command."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="src folder of an older checkout")
    parser.add_argument("--mlflow", action="store_true", help="also the current tree, MLflow on")
    args = parser.parse_args()

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = str(ROOT / "benchmarks/fixed_latency_server.py")
    server = subprocess.Popen(
        [sys.executable, script, "--port", str(port), "--latency", str(args.latency)]
    )
    url = f"http://127.0.0.1:{port}/answer"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        trees = {"now": str(ROOT / "src")}
        if args.before:
            trees["before"] = str(args.before.resolve())
        print(f"C = {args.concurrency}, L = {args.latency * 1000:g} ms; median of {args.repeat}")
        heads = []
        for t in trees:
            heads += [t, *([f"{t}+mlflow", "overhead", f"{t}+traces"] if args.mlflow else [])]
        print(f"{'N':>6} {'bound':>7} {'bare':>7} " + " ".join(f"{h:>12}" for h in heads))
        for n in args.n:
            bound = math.ceil(n / args.concurrency) * args.latency
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                suite = write_suite(work, url, n, args.concurrency)
                bare = statistics.median(
                    timed(
                        [sys.executable, "-c", BARE, url, str(n), str(args.concurrency)],
                        environment(),
                        work,
                    )
                    for _ in range(args.repeat)
                )
                walls = []
                for tree, src in trees.items():
                    env = environment(PYTHONPATH=src)
                    cmd = [sys.executable, "-m", "cujeval.cli", "run", str(suite)]
                    cmd += ["--no-progress", "--output", str(work / "out")]
                    timed([*cmd, "--no-mlflow"], env, work)  # untimed: writes bytecode caches
                    off = statistics.median(
                        timed([*cmd, "--no-mlflow"], env, work) for _ in range(args.repeat)
                    )
                    walls.append(off)
                    if not args.mlflow:
                        continue
                    store = f"sqlite:///{work / f'mlflow-{tree}.db'}"
                    for traces in ("0", "1"):
                        env = environment(
                            PYTHONPATH=src,
                            MLFLOW_TRACKING_URI=store,
                            MLFLOW_DISABLE_TELEMETRY="true",
                            CUJEVAL_MLFLOW_TRACES=traces,
                        )
                        timed([*cmd, "--mlflow"], env, work)  # creates the store
                        on = statistics.median(
                            timed([*cmd, "--mlflow"], env, work) for _ in range(args.repeat)
                        )
                        walls += [on, on - off] if traces == "0" else [on]
            print(f"{n:>6} {bound:>6.2f}s {bare:>6.2f}s " + " ".join(f"{w:>11.2f}s" for w in walls))
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()
