"""Scoring logged answers with the offline faithfulness model: one process vs a Ray cluster.

N logged answers (default 10,000) are built from the 414 RAGTruth QA dev rows, repeated: each
answer cut to its first 5 claims (as in faithfulness_throughput.py), and every repeat perturbed
(one word dropped from each sentence, seeded) so no claim is judged twice from the embedding
cache; the passages recur, as a knowledge base's passages do in real traffic.

- local: ``cujeval.engine.offline.score_file`` (what ``cujeval score`` runs) in one process,
  all cores;
- ray: ``cujeval.engine.executors.ray_score.score_logs`` on a Ray cluster of this machine: a
  head with no CPU and W worker nodes of 1 CPU each (separate ``ray start`` processes on
  loopback), one scoring actor per worker.

Each mode runs in its own process; its wall time counts everything from the call to the
written output (reading, model loading, for Ray connecting and starting the actors) but not
starting the cluster's nodes, which is timed apart. Reports cases/s, the overhead ratio at
equal cores (Ray's wall time over the local one, when W equals this machine's cores), the rate
per worker and the time a million answers would take on more nodes at that rate.

    .venv/bin/python benchmarks/ray_scale.py [--cases N] [--workers W] [--skip-local]

Measured here in one run (10,000 answers, 2 cores, 2 worker nodes of 1 CPU):

- local: 365 s, 27.4 cases/s, driver peak RSS 917 MB;
- Ray: 376 s, 26.6 cases/s (13.3 per worker), driver peak RSS 233 MB; the cluster itself
  took 24 s to start (not counted);
- overhead ratio at equal cores (Ray wall / local wall): 1.03;
- a million answers at 13.3 per CPU: 2.6 h on one 8-CPU node, 39 min on 4, 10 min on 16.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
RAY = Path(sys.executable).with_name("ray")
NODE_IP = "127.0.0.2"  # loopback that Ray does not rewrite to the machine's outward address
ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def _drop_a_word(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    if len(words) > 3:
        del words[rng.randrange(1, len(words) - 1)]
    return " ".join(words)


def build_logs(path: Path, n: int, seed: int = 0) -> None:
    from cujeval.grounding.claims import split_claims
    from cujeval.grounding.labelled import load_ragtruth

    rows = load_ragtruth(RAGTRUTH)
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row, copy = rows[i % len(rows)], i // len(rows)
            claims = split_claims(row.answer)[:5]
            answer = row.answer[claims[0].start : claims[-1].end] if claims else row.answer
            if copy:
                parts = re.split(r"(?<=[.!?])\s+", answer)
                answer = " ".join(_drop_a_word(p, rng) for p in parts)
            record = {
                "id": f"{row.id}-{copy}",
                "input": row.question,
                "answer": answer,
                "contexts": list(row.contexts),
                "hallucinated": row.hallucinated,
            }
            f.write(json.dumps(record) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A head (no CPU) and ``workers`` nodes of 1 CPU, each in its own process group."""

    def __init__(self, workers: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cjbench-"))
        self.port = _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.env = {**os.environ, **ENV}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers = workers

    def _start(self, name: str, cpus: int, *args: str) -> None:
        cmd = [str(RAY), "start", *args, "--num-cpus", str(cpus), "--node-ip-address", NODE_IP]
        cmd += ["--block", "--disable-usage-stats"]
        for flag in (
            "--node-manager-port",
            "--object-manager-port",
            "--metrics-export-port",
            "--dashboard-agent-listen-port",
            "--dashboard-agent-grpc-port",
            "--runtime-env-agent-port",
        ):
            cmd += [flag, str(_free_port())]
        log = (self.root / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def _nodes(self) -> int:
        done = subprocess.run(
            [str(RAY), "status", "--address", self.address],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        active = done.stdout.split("Pending:")[0]
        return len(re.findall(r"^\s*1 node_", active, re.MULTILINE)) if done.returncode == 0 else 0

    def start(self) -> None:
        self._start(
            "head",
            0,
            "--head",
            "--port",
            str(self.port),
            "--include-dashboard=false",
            "--dashboard-port",
            str(_free_port()),
            "--temp-dir",
            str(self.root),
        )
        self._wait(1)
        for i in range(self.workers):  # one at a time: nodes joining together can time out
            self._start(f"worker{i}", 1, "--address", self.address)
            self._wait(2 + i)

    def _wait(self, n: int, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while self._nodes() < n:
            if time.monotonic() > deadline:
                logs = "".join(
                    f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}\n"
                    for p in sorted(self.root.glob("*.log"))
                )
                raise RuntimeError(f"the cluster did not reach {n} nodes:\n{logs}")
            time.sleep(1)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def measure(mode: str, logs: Path, out: Path, address: str | None) -> dict[str, Any]:
    """One mode in this process: wall time, rows, this process's peak memory."""
    start = time.perf_counter()
    if mode == "local":
        from cujeval.engine.offline import score_file

        rows = score_file(logs, ["faithfulness"], out)
    else:
        from cujeval.engine.executors.ray import RayOptions
        from cujeval.engine.executors.ray_score import score_logs

        rows = score_logs(logs, ["faithfulness"], out, address=address, options=RayOptions(cpus=1))
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "rows": rows, "wall_s": wall, "driver_peak_rss_mb": peak_mb}


def _child(mode: str, logs: Path, out: Path, env: dict[str, str], address: str | None) -> Any:
    cmd = [sys.executable, __file__, "--measure", mode, "--logs", str(logs), "--out", str(out)]
    if address:
        cmd += ["--address", address]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--measure", choices=["local", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--logs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.logs, args.out, args.address)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="cjbench-data-"))
    try:
        logs = work / "logs.jsonl"
        build_logs(logs, args.cases)
        cores = os.cpu_count() or 1
        print(f"{args.cases} logged answers ({logs.stat().st_size / 2**20:.1f} MiB), {cores} cores")
        results: dict[str, Any] = {}
        if not args.skip_local:
            env = {**os.environ, **ENV}
            results["local"] = _child("local", logs, work / "local.jsonl", env, None)
            print(f"local: {results['local']}", flush=True)
        cluster = Cluster(args.workers)
        started = time.perf_counter()
        try:
            cluster.start()
            boot = time.perf_counter() - started
            print(f"cluster: head + {args.workers} worker nodes up in {boot:.1f} s", flush=True)
            results["ray"] = _child("ray", logs, work / "scored", cluster.env, cluster.address)
            print(f"ray: {results['ray']}", flush=True)
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ray = results["ray"]
    rate = ray["rows"] / ray["wall_s"]
    per_worker = rate / args.workers
    print()
    print(f"ray ({args.workers} workers x 1 CPU): {rate:.1f} cases/s, {per_worker:.1f} per worker")
    if "local" in results:
        local = results["local"]
        local_rate = local["rows"] / local["wall_s"]
        print(f"local (1 process, {cores} cores): {local_rate:.1f} cases/s")
        print(
            f"overhead ratio at equal cores (ray wall / local wall): "
            f"{ray['wall_s'] / local['wall_s']:.2f}"
            + ("" if args.workers == cores else f" (ray has {args.workers} CPUs, local {cores})")
        )
    print("projected time for 1,000,000 answers at the measured rate per worker:")
    for nodes in (1, 4, 16, 64):
        actors = nodes * 8
        hours = 1_000_000 / (per_worker * actors) / 3600
        print(f"  {nodes:3d} nodes x 8 CPUs ({actors:4d} actors): {hours:6.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
