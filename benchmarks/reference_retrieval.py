"""Measure the bundled reference RAG service: start-up time, retrieval quality, throughput.

    .venv/bin/python benchmarks/reference_retrieval.py [--requests 400] [--concurrency 8]

Start-up: launcher call until /health answers. Retrieval over datasets/support_rag*.jsonl:
hit@4 = share of cases whose top 4 contexts hold a relevant id; MRR@10 = mean of
1 / rank of the first relevant context in the top 10 (0 if none); P@4 and R@4 as usual.
Throughput: /answer requests per second at the given concurrency (aiohttp, 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import aiohttp

from cujeval.reference.launch import start_rag_service
from cujeval.spec.records import GoldenCase

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def load_cases() -> list[GoldenCase]:
    return [
        GoldenCase.model_validate_json(line)
        for name in ("support_rag.jsonl", "support_rag_instructions.jsonl")
        for line in (DATASETS / name).read_text().splitlines()
    ]


async def retrieval(url: str, cases: list[GoldenCase]) -> dict[str, float]:
    hits = rr = precision = recall = 0.0
    async with aiohttp.ClientSession() as session:
        for case in cases:
            body = {"question": case.question, "top_k": 10}
            async with session.post(f"{url}/answer", json=body) as response:
                ranked = [c["id"] for c in (await response.json())["contexts"]]
            relevant = set(case.relevant_ids or ())
            top4 = set(ranked[:4]) & relevant
            hits += bool(top4)
            precision += len(top4) / 4
            recall += len(top4) / len(relevant)
            rr += next((1 / r for r, i in enumerate(ranked, 1) if i in relevant), 0.0)
    n = len(cases)
    return {"n": n, "hit@4": hits / n, "mrr@10": rr / n, "p@4": precision / n, "r@4": recall / n}


async def throughput(
    url: str, questions: list[str], total: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    queue = [questions[i % len(questions)] for i in range(total)]

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            question = queue.pop()
            start = time.perf_counter()
            async with session.post(f"{url}/answer", json={"question": question}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
            latencies.append(time.perf_counter() - start)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(2)))  # warm-up connections
        queue.extend(questions[i % len(questions)] for i in range(total))
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": total,
        "concurrency": concurrency,
        "rps": total / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    cases = load_cases()
    start = time.perf_counter()
    with start_rag_service() as service:
        startup = time.perf_counter() - start
        quality = asyncio.run(retrieval(service.url, cases))
        speed = asyncio.run(
            throughput(service.url, [c.question for c in cases], args.requests, args.concurrency)
        )
    print(
        json.dumps(
            {"startup_s": round(startup, 2), "retrieval": quality, "answer": speed}, indent=2
        )
    )


if __name__ == "__main__":
    main()
