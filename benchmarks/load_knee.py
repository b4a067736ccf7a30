"""Find the reference RAG service's knee with ``cujeval load``, and compare cujeval's achieved
rate and latency with Locust's on the same endpoint at the same rates.

The service runs with 50 ms per answer and 4 generation slots (``max_concurrency``), so its
capacity is about 4 / 0.05 s = 80 answers/s, less whatever its CPU (question embeddings) allows
on this machine. cujeval offers each rate open-loop and measures latency from each request's
scheduled start; Locust runs one user per request/s with ``constant_throughput(1)`` (its way of
offering a rate) and measures from each request's actual send: below the knee both should
agree; past it, Locust's users wait for answers (closed loop) and its latency hides the queue.

    .venv/bin/python benchmarks/load_knee.py                      # knee + Locust, ~6 min
    .venv/bin/python benchmarks/load_knee.py --no-locust          # knee only
    .venv/bin/python benchmarks/load_knee.py --soak 600 --soak-rate 50   # memory over 10 min

Locust is not a cujeval dependency: install it anywhere (``python -m venv /tmp/locust-venv &&
/tmp/locust-venv/bin/pip install locust``) and pass ``--locust /tmp/locust-venv/bin/locust``
(default: ``locust`` on PATH, else /tmp/locust-venv/bin/locust). Figures are noisy on a shared
2-core machine: the service, the load generator and the scorers share the cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests.helpers

from tests.helpers import write_rag_suite  # noqa: E402

from cujeval.reference.launch import free_port, start_rag_service  # noqa: E402

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CUJEVAL = [sys.executable, "-m", "cujeval.cli"]

LOCUSTFILE = """
import itertools, json
from locust import HttpUser, task, constant_throughput

QUESTIONS = itertools.cycle(
    json.loads(line)["input"] for line in open({dataset!r}, encoding="utf-8") if line.strip()
)

class Asker(HttpUser):
    wait_time = constant_throughput(1)

    @task
    def answer(self):
        self.client.post("/answer", json={{"question": next(QUESTIONS)}}, name="/answer")
"""


def admin(url: str, knobs: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/admin/faults",
        data=json.dumps(knobs).encode(),
        headers={"Content-Type": "application/json"},
    )
    with DIRECT.open(request, timeout=30) as response:
        assert response.status == 200


def run_cujeval(
    url: str, rates: list[float], step_s: float, out: Path, p99: float
) -> dict[str, Any]:
    env = {**os.environ, "CUJEVAL_RAG_URL": url}
    command = [
        *CUJEVAL,
        "load",
        str(ROOT / "suites" / "support_rag.yaml"),
        "--journey",
        "grounded-answer",
        "--steps",
        ",".join(f"{r:g}" for r in rates),
        "--duration",
        f"{step_s:g}s",
        "--knee-p99",
        str(p99),
        "--score-share",
        "0.25",
        "--no-progress",
        "-o",
        str(out),
    ]
    started = time.monotonic()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    print(f"cujeval load: exit {proc.returncode} in {time.monotonic() - started:.0f} s")
    if proc.returncode not in (0, 1):
        print(proc.stderr[-3000:])
        raise SystemExit("cujeval load failed")
    return json.loads((out / "results.json").read_text())["load"]


def run_locust(
    locust: str, url: str, rate: float, step_s: float, work: Path
) -> dict[str, float] | None:
    users = max(1, round(rate))
    prefix = work / f"locust_{rate:g}"
    command = [
        locust,
        "-f",
        str(work / "locustfile.py"),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{step_s:g}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--loglevel",
        "WARNING",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=step_s + 120)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        print(f"locust at {rate:g}/s failed: {proc.stderr[-2000:]}")
        return None
    with stats.open(newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows.get("Aggregated") or rows.get("/answer")
    if row is None:
        return None

    def ms(key: str) -> float:
        try:
            return float(row[key]) / 1000.0
        except (KeyError, ValueError):
            return float("nan")

    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rate": float(row["Requests/s"]),
        "p50": ms("50%"),
        "p95": ms("95%"),
        "p99": ms("99%"),
        "max": ms("Max Response Time") if "Max Response Time" in row else ms("100%"),
    }


def knee_and_compare(args: argparse.Namespace) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    work = Path(tempfile.mkdtemp(prefix="cujeval-knee-"))
    locust = args.locust or shutil.which("locust") or "/tmp/locust-venv/bin/locust"
    use_locust = not args.no_locust and Path(locust).exists()
    with start_rag_service(faults={"latency_ms": args.latency_ms}) as service:
        admin(service.url, {"max_concurrency": args.slots})
        print(f"reference service at {service.url}: {args.latency_ms:g} ms, {args.slots} slots")
        load = run_cujeval(service.url, rates, args.step_s, work / "cujeval", args.knee_p99)
        comparisons: list[tuple[float, dict[str, Any], dict[str, float] | None]] = []
        if use_locust:
            (work / "locustfile.py").write_text(
                LOCUSTFILE.format(dataset=str(ROOT / "datasets" / "support_rag.jsonl"))
            )
        for rate, step in zip(rates, load["steps"], strict=True):
            theirs = None
            if use_locust:
                time.sleep(2)  # let the service drain between tools
                theirs = run_locust(locust, service.url, rate, args.step_s, work)
            comparisons.append((rate, step, theirs))
    print()
    print(f"knee (cujeval): {json.dumps(load['knee'])}")
    print()
    head = "| offered /s | cujeval achieved /s | cujeval p50 / p95 / p99 / max ms |"
    if use_locust:
        head += (
            " Locust achieved /s | Locust p50 / p95 / p99 / max ms | achieved ratio | p99 ratio |"
        )
    print(head)
    print("|" + "---:|" * (head.count("|") - 1))
    for rate, step, theirs in comparisons:
        lat = step["latency"]
        ours = (
            f"| {rate:g} | {step['traffic']['achieved_rate']:.2f} | "
            f"{lat['p50'] * 1000:.0f} / {lat['p95'] * 1000:.0f} / {lat['p99'] * 1000:.0f} / "
            f"{lat['max'] * 1000:.0f} |"
        )
        if theirs is not None:
            ratio = step["traffic"]["achieved_rate"] / theirs["rate"] if theirs["rate"] else 0
            p99 = lat["p99"] / theirs["p99"] if theirs["p99"] else float("nan")
            ours += (
                f" {theirs['rate']:.2f} | {theirs['p50'] * 1000:.0f} / {theirs['p95'] * 1000:.0f}"
                f" / {theirs['p99'] * 1000:.0f} / {theirs['max'] * 1000:.0f} | {ratio:.3f} "
                f"| {p99:.2f} |"
            )
        elif use_locust:
            ours += " — | — | — | — |"
        print(ours)
    (work / "comparison.json").write_text(
        json.dumps([{"rate": r, "cujeval": s, "locust": t} for r, s, t in comparisons], indent=2)
    )
    print(f"\nfull figures: {work}/comparison.json, {work}/cujeval/load.md")


def soak(args: argparse.Namespace) -> None:
    """A long run at a steady rate against a fixed-latency endpoint (so the target keeps up
    whatever the machine does): the load command's resident memory sampled every 5 s."""
    import psutil

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "fixed_latency_server.py"), "--port", str(port)]
    )
    work = Path(tempfile.mkdtemp(prefix="cujeval-soak-"))
    suite = write_rag_suite(
        work / "soak.yaml",
        f"http://127.0.0.1:{port}",
        [
            {"name": "no-errors", "good": "error == false", "target": 0.99},
            {"name": "p99", "objective": "p99(latency_s) <= 0.5"},
        ],
        name="soak",
        scorers=["error", "latency_s", "token_f1"],
    )
    time.sleep(1.0)
    command = [
        *CUJEVAL,
        "load",
        str(suite),
        "--rate",
        f"{args.soak_rate:g}",
        "--duration",
        f"{args.soak:g}s",
        "--no-metrics",
        "--no-progress",
        "-o",
        str(work / "out"),
    ]
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                samples.append((time.monotonic() - started, watched.memory_info().rss))
            except psutil.Error:
                break
            time.sleep(5.0)
        proc.wait()
    finally:
        server.terminate()
        server.wait()
    load = json.loads((work / "out" / "results.json").read_text())["load"]
    step = load["steps"][0]
    mib = [(t, rss / 2**20) for t, rss in samples]
    first = [m for t, m in mib if 60 <= t < 120]
    last = [m for t, m in mib if t >= mib[-1][0] - 60]
    print(f"soak: {args.soak_rate:g}/s for {args.soak:g} s, exit {proc.returncode}")
    traffic, latency = step["traffic"], step["latency"]
    print(
        f"requests {traffic['completed']}, achieved {traffic['achieved_rate']:.2f}/s, "
        f"p99 {latency['p99'] * 1000:.1f} ms, max {latency['max'] * 1000:.1f} ms"
    )
    print(
        f"RSS max {max(m for _, m in mib):.1f} MiB; minute 2 mean "
        f"{sum(first) / max(len(first), 1):.1f} MiB; last minute mean "
        f"{sum(last) / max(len(last), 1):.1f} MiB; {len(load['timeseries']['points'])} "
        "time-series points"
    )
    (work / "rss.json").write_text(json.dumps(mib))
    print(f"samples: {work}/rss.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="20,40,60,80,100,120")
    parser.add_argument("--step-s", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument(
        "--knee-p99", type=float, default=0.5, help="a step whose p99 passes it broke"
    )
    parser.add_argument("--locust", default=None)
    parser.add_argument("--no-locust", action="store_true")
    parser.add_argument("--soak", type=float, default=None, help="seconds of a soak run instead")
    parser.add_argument("--soak-rate", type=float, default=50.0)
    args = parser.parse_args()
    if args.soak:
        soak(args)
    else:
        knee_and_compare(args)


if __name__ == "__main__":
    main()
