"""Whole-command wall time of ``cujeval run`` (start-up, calls, one regex check, verdicts,
reports, MLflow), for N cases at concurrency C against a 127.0.0.1 endpoint with a fixed
latency, beside a bare aiohttp loop making the same requests and, with ``--deepeval``, a peer
harness doing the same job; in one run, so every figure shares one machine state.

    .venv/bin/python benchmarks/whole_command.py                    # N = 10 and 1,000, MLflow off
    .venv/bin/python benchmarks/whole_command.py --mlflow --n 10 1000 10000 \\
        --before /tmp/before/src --deepeval /tmp/peers/bin/python

Columns (each the median of ``--repeat`` runs, the variants taken in turn within a repeat so
that a busy spell hits them alike):

- ``bare``: the aiohttp loop (the floor: no harness at all);
- ``off``: ``cujeval run --no-mlflow``;
- ``+mlflow``: MLflow on as a user runs it, every case a trace, into a SQLite store that
  exists (an untimed first run made it, as a CI job's second invocation finds it);
- ``notraces``: the same with traces off (``CUJEVAL_MLFLOW_TRACES=0``);
- ``+fresh``: MLflow on, traces on, a new SQLite store each run (a fresh clone's first run);
- ``+cold``: ``+fresh`` with an empty user cache as well (a new machine's first run ever:
  the fresh-store template is built, cujeval.tracking.store);
- ``deepeval``: DeepEval (``--deepeval PYTHON``: an interpreter with deepeval installed,
  outside this project) running the same cases through the same endpoint at the same
  concurrency with the same regex check, results kept in a fresh folder each run.

``--before SRC`` measures another checkout's ``src`` (``git worktree add /tmp/old <commit>``)
the same way. Every case is traced in every tree (``CUJEVAL_MLFLOW_MAX_TRACES`` is raised).
The issue-32 bounds are printed for each tree at the end: with traces and a fresh store at
most 1.5 s over ``off`` at 1,000 cases; at 10,000 cases at most twice ``notraces``; at most
1.0 s over ``off`` at 10 cases; ``off`` within 15 % of ``bare`` at 1,000 and under 0.5 s at 10.
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
from collections.abc import Callable
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
# DeepEval as its docs show it: the app called for each golden (here over aiohttp, at the same
# concurrency), test cases built from the answers, one deterministic metric (the regex check)
# through deepeval.evaluate, its results written to its folder
DEEPEVAL = """
import asyncio, re, sys, aiohttp
from deepeval import evaluate
from deepeval.evaluate.configs import AsyncConfig, DisplayConfig
from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

class Regex(BaseMetric):
    threshold = 0.5
    def __init__(self):
        self.pattern = re.compile("answer", re.I)
    def measure(self, test_case, *args, **kwargs):
        self.score = float(bool(self.pattern.search(test_case.actual_output or "")))
        self.success = self.score >= self.threshold
        return self.score
    async def a_measure(self, test_case, *args, **kwargs):
        return self.measure(test_case)
    def is_successful(self):
        return bool(self.success)
    @property
    def __name__(self):
        return "Regex"

async def outputs(url, n, c):
    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession() as s:
        async def one(i):
            async with sem, s.post(url, json={"question": f"question {i}"}) as r:
                body = await r.json()
            return LLMTestCase(input=f"question {i}", actual_output=body["answer"])
        return await asyncio.gather(*(one(i) for i in range(n)))

url, n, c, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cases = asyncio.run(outputs(url, n, c))
result = evaluate(
    test_cases=cases,
    metrics=[Regex()],
    async_config=AsyncConfig(max_concurrent=c),
    display_config=DisplayConfig(
        show_indicator=False, print_results=False, results_folder=folder, inspect_after_run=False
    ),
)
assert len(result.test_results) == n and all(t.success for t in result.test_results)
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
    return {**env, "MLFLOW_DISABLE_TELEMETRY": "true", **extra}


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} exited {proc.returncode}: {proc.stderr[-2000:]}")
    if "reporter failed" in proc.stderr:
        raise SystemExit(f"{cmd}: {proc.stderr[-2000:]}")
    return wall


def machine() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {load}, {os.cpu_count()} cores"


Variant = Callable[[int], float]  # repetition number -> wall seconds


def variants(
    args: argparse.Namespace, trees: dict[str, str], url: str, n: int, work: Path
) -> dict[str, Variant]:
    suite = write_suite(work, url, n, args.concurrency)
    out: dict[str, Variant] = {
        "bare": lambda r: timed(
            [sys.executable, "-c", BARE, url, str(n), str(args.concurrency)], environment(), work
        )
    }
    for tree, src in trees.items():
        if tree != "now" and n > args.before_max_n:
            continue
        cmd = [sys.executable, "-m", "cujeval.cli", "run", str(suite), "--no-progress"]
        cmd += ["--output", str(work / f"out-{tree}")]
        base = environment(PYTHONPATH=src, CUJEVAL_MLFLOW_MAX_TRACES="1000000")
        timed([*cmd, "--no-mlflow"], base, work)  # untimed: writes bytecode caches
        out[tree] = lambda r, cmd=cmd, base=base: timed([*cmd, "--no-mlflow"], base, work)
        if not args.mlflow:
            continue
        kept = {**base, "MLFLOW_TRACKING_URI": f"sqlite:///{work / f'kept-{tree}.db'}"}
        timed(cmd, kept, work)  # untimed: makes the store the next runs find

        def fresh(
            r: int,
            tree: str = tree,
            base: dict[str, str] = base,
            cmd: list[str] = cmd,
            cold: bool = False,
        ) -> float:
            db = work / f"fresh-{tree}-{'cold' if cold else 'warm'}-{r}.db"
            env = {**base, "MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
            if cold:  # no cache of the empty store either
                env["XDG_CACHE_HOME"] = tempfile.mkdtemp(dir=work)
            return timed(cmd, env, work)

        out[f"{tree}+mlflow"] = lambda r, cmd=cmd, kept=kept: timed(cmd, kept, work)
        out[f"{tree} notraces"] = lambda r, cmd=cmd, kept=kept: timed(
            cmd, {**kept, "CUJEVAL_MLFLOW_TRACES": "0"}, work
        )
        out[f"{tree}+fresh"] = fresh
        if tree == "now":
            out[f"{tree}+cold"] = lambda r, fresh=fresh: fresh(r, cold=True)
    if args.deepeval and n <= args.peers_max_n:
        peer_env = environment(DEEPEVAL_TELEMETRY_OPT_OUT="YES", DEEPEVAL_GRPC_LOGGING="NO")

        def deepeval(r: int) -> float:
            folder = Path(tempfile.mkdtemp(dir=work))  # a fresh result folder each run
            cmd = [args.deepeval, "-c", DEEPEVAL, url, str(n), str(args.concurrency), str(folder)]
            return timed(cmd, peer_env, folder)

        out["deepeval"] = deepeval
    return out


def bounds(medians: dict[int, dict[str, float]], trees: dict[str, str]) -> list[str]:
    """The issue-32 bounds, for each tree, as far as the figures measured allow."""
    lines = []

    def get(n: int, col: str) -> float | None:
        return medians.get(n, {}).get(col)

    for tree in trees:
        checks: list[tuple[str, bool | None]] = []
        off, off10, bare = get(1000, tree), get(10, tree), get(1000, "bare")
        fresh, cold = get(1000, f"{tree}+fresh"), get(1000, f"{tree}+cold")
        on, off_big, notr = (get(10000, f"{tree}{c}") for c in ("+mlflow", "", " notraces"))
        on10 = get(10, f"{tree}+mlflow")
        if fresh is not None and off is not None:
            extra = fresh - off
            checks.append((f"1,000: +fresh - off = {extra:.2f} s <= 1.5 s", extra <= 1.5))
        if cold is not None and off is not None:
            checks.append((f"1,000: +cold - off = {cold - off:.2f} s (a new machine)", None))
        if on is not None and notr is not None:
            checks.append((f"10,000: +mlflow / notraces = {on / notr:.2f} <= 2", on / notr <= 2))
        if on is not None and off_big is not None:
            checks.append((f"10,000: +mlflow / off = {on / off_big:.2f}", None))
        if on10 is not None and off10 is not None:
            extra = on10 - off10
            checks.append((f"10: +mlflow - off = {extra:.2f} s <= 1.0 s", extra <= 1.0))
        if off is not None and bare is not None:
            checks.append((f"1,000: off / bare = {off / bare:.2f} <= 1.15", off / bare <= 1.15))
        if off10 is not None:
            checks.append((f"10: off = {off10:.2f} s < 0.5 s", off10 < 0.5))
        for text, ok in checks:
            mark = "" if ok is None else ("  met" if ok else "  NOT met")
            lines.append(f"  {tree:>6}: {text}{mark}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="src folder of an older checkout")
    parser.add_argument("--mlflow", action="store_true", help="also with MLflow logging on")
    parser.add_argument("--deepeval", help="a Python interpreter with deepeval installed")
    parser.add_argument("--peers-max-n", type=int, default=1000, help="peers up to this N")
    parser.add_argument(
        "--before-max-n", type=int, default=10**9, help="the --before tree up to this N"
    )
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
    trees = {"now": str(ROOT / "src")}
    if args.before:
        trees["before"] = str(args.before.resolve())
    medians: dict[int, dict[str, float]] = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        print(f"C = {args.concurrency}, L = {args.latency * 1000:g} ms; median of {args.repeat}")
        for n in args.n:
            bound = math.ceil(n / args.concurrency) * args.latency
            with tempfile.TemporaryDirectory() as tmp:
                before = machine()
                todo = variants(args, trees, url, n, Path(tmp))
                walls: dict[str, list[float]] = {k: [] for k in todo}
                for r in range(args.repeat):
                    for name, run in todo.items():
                        walls[name].append(run(r))
                medians[n] = {k: statistics.median(v) for k, v in walls.items()}
                print(f"\nN = {n:,} (bound {bound:.2f} s); before: {before}; after: {machine()}")
                bare = medians[n]["bare"]
                for name, wall in medians[n].items():
                    spread = f"{min(walls[name]):.2f}-{max(walls[name]):.2f}"
                    print(f"  {name:>16} {wall:7.2f} s  ({spread})  {wall / bare:5.2f}x bare")
        print("\nbounds (issue 32):")
        print("\n".join(bounds(medians, trees)))
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()
