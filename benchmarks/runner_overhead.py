"""Runner overhead against an endpoint with a fixed latency on 127.0.0.1.

An endpoint-bound runner with N cases at concurrency C against latency L should take about
ceil(N/C)*L. This prints wall time against that bound and the runner's peak memory (max RSS),
for N = 10,000 (time) and N = 1,000 / 10,000 / 100,000 (memory: flat in N is the goal).

    .venv/bin/python benchmarks/runner_overhead.py            # the full table
    .venv/bin/python benchmarks/runner_overhead.py --quick    # N = 2,000 only

The endpoint (benchmarks/fixed_latency_server.py, raw asyncio) runs in its own process; a bare
aiohttp client making the same requests gives the floor this machine allows (column "bare");
each measurement runs the runner in a
fresh process so peak RSS belongs to that N alone.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(url: str, n: int, c: int, workdir: Path) -> dict[str, float]:
    """Run in this (fresh) process: wall seconds of the whole run (validation, calls, scoring,
    journal, verdicts, results.json) and max RSS in MiB."""
    from tests.helpers import write_suite

    from cujeval.engine.run import RunOptions, run_suite
    from cujeval.spec.suite import load_suite

    suite = load_suite(
        write_suite(
            workdir,
            url=f"{url}/answer",
            n=n,
            scorers=["error", "latency_s"],
            settings={"concurrency": c, "retries": 0},
        )
    )
    start = time.perf_counter()
    result = run_suite(suite, RunOptions(output_dir=workdir / "out", progress=False))
    wall = time.perf_counter() - start
    assert result.journeys[0].n_rows == n and result.journeys[0].n_errors == 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall_s": wall, "max_rss_mib": rss}


def bare_client(url: str, n: int, c: int) -> float:
    """The same N requests at concurrency C with a bare aiohttp client and nothing else: the
    floor this machine and endpoint allow, to separate the runner's overhead from theirs."""
    import asyncio

    import aiohttp

    async def main() -> float:
        connector = aiohttp.TCPConnector(limit=c)
        async with aiohttp.ClientSession(connector=connector) as session:
            it = iter(range(n))

            async def worker() -> None:
                for i in it:
                    async with session.post(f"{url}/answer", json={"question": f"q{i}"}) as r:
                        await r.json()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(c)))
            return time.perf_counter() - start

    return asyncio.run(main())


def run_child(url: str, n: int, c: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(n), str(c), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", help="case counts to run")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        url, n, c, tmp = args.child
        print(json.dumps(measure(url, int(n), int(c), Path(tmp))))
        return
    from tests.servers import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fixed_latency_server.py"),
            "--port",
            str(port),
            "--latency",
            str(args.latency),
        ]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(
                    urllib.request.Request(
                        f"{url}/answer", data=b'{"question": "x"}', method="POST"
                    ),
                    timeout=1,
                )
                break
            except OSError:
                time.sleep(0.1)
        c, lat = args.concurrency, args.latency
        print(f"endpoint latency {lat * 1000:.0f} ms, concurrency {c}, 2-core machine")
        print(
            f"{'N':>8} {'bound s':>8} {'bare s':>8} {'wall s':>8} {'wall/bound':>10} "
            f"{'wall/bare':>10} {'max RSS MiB':>12}"
        )
        sizes = args.sizes or ([2_000] if args.quick else [1_000, 10_000, 100_000])
        for n in sizes:
            bound = math.ceil(n / c) * lat
            bare = bare_client(url, n, c) if n <= 20_000 else float("nan")
            m = run_child(url, n, c)
            print(
                f"{n:>8} {bound:>8.2f} {bare:>8.2f} {m['wall_s']:>8.2f} "
                f"{m['wall_s'] / bound:>10.3f} {m['wall_s'] / bare:>10.3f} "
                f"{m['max_rss_mib']:>12.1f}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
