"""Overhead of the judge plumbing, apart from any model: client, cache, ragas + instructor.

Against the scripted judge of tests/judge_server.py (an aiohttp server on 127.0.0.1 that
answers instantly, or after --delay-s), this prints per-call figures for:

- raw client calls at concurrency C (max_concurrency = C): wall ÷ the bound ceil(N/C)·L;
- cache hits (the same N requests again, nothing reaches the server);
- llm_faithfulness over N cases (2 judge calls each, through ragas and instructor), fresh and
  from the cache.

    .venv/bin/python benchmarks/judge_plumbing.py                 # N = 200, C = 4, L = 50 ms
    .venv/bin/python benchmarks/judge_plumbing.py --n 500 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def client_calls(base_url: str, n: int, c: int, cache_dir: str) -> tuple[float, float]:
    from cujeval.scorers.judges import JudgeClient, JudgeConfig

    config = JudgeConfig(base_url=base_url, model="gemma", max_concurrency=c, cache_dir=cache_dir)

    async def batch() -> float:
        client = JudgeClient(config)
        await client.create({"model": "gemma", "messages": [{"role": "user", "content": "warm"}]})
        start = time.perf_counter()
        await asyncio.gather(
            *(
                client.create({"model": "gemma", "messages": [{"role": "user", "content": str(i)}]})
                for i in range(n)
            )
        )
        wall = time.perf_counter() - start
        await client.aclose()
        return wall

    return await batch(), await batch()


async def faithfulness(base_url: str, n: int, c: int, cache_dir: str) -> float:
    from cujeval.scorers import base as registry
    from cujeval.spec.records import Context, GoldenCase, Observation

    judge = {"base_url": base_url, "model": "gemma", "max_concurrency": c, "cache_dir": cache_dir}
    scorer = registry.create("llm_faithfulness", {"judge": judge})
    cases = [
        (
            GoldenCase(id=f"c{i}", input=f"Question {i}?"),
            Observation(answer=f"Answer {i}.", contexts=(Context(text=f"Context {i}."),)),
        )
        for i in range(n)
    ]
    semaphore = asyncio.Semaphore(c)

    async def one(case: GoldenCase, obs: Observation) -> None:
        async with semaphore:
            await scorer(case, obs)

    start = time.perf_counter()
    await asyncio.gather(*(one(case, obs) for case, obs in cases))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--delay-s", type=float, default=0.05)
    args = parser.parse_args()
    n, c, delay = args.n, args.concurrency, args.delay_s

    from tests.judge_server import fake_judge_server

    with fake_judge_server() as judge, tempfile.TemporaryDirectory() as tmp:
        judge.delay_s = delay
        bound = math.ceil(n / c) * delay
        fresh, cached = asyncio.run(client_calls(judge.base_url, n, c, str(Path(tmp) / "a")))
        print(f"client   N={n} C={c} L={delay * 1000:.0f}ms  bound {bound:.2f}s")
        print(
            f"  fresh  {fresh:.2f}s  wall/bound {fresh / bound:.2f}  {fresh / n * 1000:.1f} ms/call"
        )
        print(f"  cached {cached:.2f}s  {cached / n * 1000:.2f} ms/call (no request sent)")
        cache = str(Path(tmp) / "b")
        warm = asyncio.run(faithfulness(judge.base_url, 1, 1, str(Path(tmp) / "warm")))
        fresh = asyncio.run(faithfulness(judge.base_url, n, c, cache))
        cached = asyncio.run(faithfulness(judge.base_url, n, c, cache))
        bound = math.ceil(n / c) * 2 * delay
        print(
            f"llm_faithfulness N={n} C={c} (2 calls a case; first case incl. imports {warm:.1f}s)"
        )
        print(
            f"  fresh  {fresh:.2f}s  wall/bound {fresh / bound:.2f}  {fresh / n * 1000:.1f} ms/case"
        )
        print(f"  cached {cached:.2f}s  {cached / n * 1000:.1f} ms/case")


if __name__ == "__main__":
    main()
