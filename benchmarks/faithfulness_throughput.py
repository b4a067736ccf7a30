"""Throughput of the offline faithfulness scorer: cases per second on this machine.

Cases are real RAGTruth QA answers cut to their first 5 sentences, each with its 3 retrieved
passages. Two passes through the registry's scorer, 4 cases in flight:
- cold: empty embedding cache; three answers per question share its passages, so each
  passage is encoded on first sight and reused twice;
- warm: the same passages with the other answers to the same questions, so passages are
  cached and every claim is new text (a nightly run over a stable corpus).
Model loading is timed apart. The goal is >= 20 cases/s on 2 cores.

    .venv/bin/python benchmarks/faithfulness_throughput.py [--cases N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from cujeval.grounding.claims import split_claims
from cujeval.grounding.labelled import LabelledResponse, load_ragtruth
from cujeval.scorers import base
from cujeval.spec.records import Context, GoldenCase, Observation

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
Case = tuple[GoldenCase, Observation]


def cases(rows: list[LabelledResponse], n: int) -> tuple[list[Case], list[Case]]:
    """Two batches over the same passages: the even-placed answers of each question's group,
    then (for the warm pass) each one's next peer, whose claims are new text."""
    by_group: dict[str, list[LabelledResponse]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    first: list[Case] = []
    second: list[Case] = []
    for peers in by_group.values():
        for i in range(0, len(peers) - 1, 2):
            first.append(_case(peers[i], peers[i]))
            second.append(_case(peers[i], peers[i + 1]))
    return first[:n], second[:n]


def _case(passages_of: LabelledResponse, answer_of: LabelledResponse) -> Case:
    claims = split_claims(answer_of.answer)[:5]
    text = answer_of.answer
    answer = text[claims[0].start : claims[-1].end] if claims else text
    contexts = tuple(
        Context(id=f"{passages_of.group}-{i}", text=t) for i, t in enumerate(passages_of.contexts)
    )
    return GoldenCase(id=answer_of.id, input=passages_of.question), Observation(
        answer=answer, contexts=contexts
    )


async def run(batch: list[Case], concurrency: int) -> float:
    scorer = base.create("faithfulness")
    gate = asyncio.Semaphore(concurrency)

    async def one(case: GoldenCase, obs: Observation) -> None:
        async with gate:
            await scorer(case, obs)

    start = time.perf_counter()
    await asyncio.gather(*(one(c, o) for c, o in batch))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=RAGTRUTH)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    batch, again = cases(load_ragtruth(args.data), args.cases)
    start = time.perf_counter()
    from cujeval.models.embeddings import encode

    encode(["warm up"])
    load_s = time.perf_counter() - start
    sentences = sum(len(split_claims(o.answer or "")) for _, o in batch) / len(batch)
    passages = len({c.text for _, o in batch for c in o.contexts or ()})
    cold = asyncio.run(run(batch, args.concurrency))
    warm = asyncio.run(run(again, args.concurrency))
    print(
        f"{len(batch)} cases, {sentences:.1f} answer sentences and 3 passages each, "
        f"{passages} distinct passages; concurrency {args.concurrency}"
    )
    print(f"model load: {load_s:.1f} s")
    print(f"cold cache: {len(batch) / cold:.1f} cases/s ({cold:.1f} s)")
    print(f"warm cache: {len(batch) / warm:.1f} cases/s ({warm:.1f} s)")
    print(f"re-run: python benchmarks/faithfulness_throughput.py --cases {args.cases}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
