"""False-alarm rate and power of `cujeval drift` on shifts built from real data.

Reference: a random half (61) of the help-centre golden set `datasets/support_rag.jsonl`.
Current: the other half (no drift), or the other half with 10 %, 20 %, 33 % or 50 % of its
inputs replaced by off-topic questions: MS MARCO questions (RAGTruth QA dev, 74 distinct) or
HaluEval QA questions (200). The same random splits serve every condition; each detection runs
the whole detector (`cujeval.drift.detect`, topics from the golden cases' first tags as
`cujeval drift` picks them) with the split's own permutation seed.

Columns: each test alone at α (its raw p-value), and the detector's decision (Holm over its
family) for each embedding method: `--method mmd` (default), `c2st`, `both`; last, the family
with the topic chi-square added, which is why that test is reported but not decided on. The
no-drift row is the false-alarm rate, with its 95 % Clopper-Pearson interval for the detectors.
Embeddings are computed once per distinct text (about 400 texts) and cached in memory.

    .venv/bin/python benchmarks/drift_power.py [--splits 100] [--permutations 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# one BLAS thread: the detector's many small matrix products only fight each other (and torch's
# threads) for the 2 cores otherwise, about 4x slower here
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from cujeval.drift import detect, stats
from cujeval.drift.result import DriftResult
from cujeval.models.embeddings import encode

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "datasets" / "support_rag.jsonl"
RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
HALUEVAL = Path("/work/shared/data/halueval_qa/qa_samples_200.json")
MIXES = (0.10, 0.20, 0.33, 0.50)
ALPHA = 0.05
SHIFT_TESTS = ("embedding_mmd", "embedding_c2st", "length", "language")
WHERE_TESTS = ("topic_shares", "coverage")
FAMILIES = {  # the tests `cujeval drift --method M` decides on (Holm together)
    "mmd": ("embedding_mmd", "length", "language", "coverage"),
    "c2st": ("embedding_c2st", "length", "language", "coverage"),
    "both": ("embedding_mmd", "embedding_c2st", "length", "language", "coverage"),
    # tried and left out of the decision: the topic chi-square (see cujeval.drift.detect)
    "mmd+topics": ("embedding_mmd", "length", "language", "topic_shares", "coverage"),
}
COMMAND = "python benchmarks/drift_power.py"


class CachedEncoder:
    """Embeds each distinct text once."""

    def __init__(self) -> None:
        self.cache: dict[str, np.ndarray] = {}

    def warm(self, texts: list[str]) -> None:
        todo = sorted({t for t in texts if t not in self.cache})
        for text, vector in zip(todo, encode(todo), strict=True):
            self.cache[text] = vector

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.warm(texts)
        return np.stack([self.cache[t] for t in texts])


def load() -> tuple[list[str], list[str | None], dict[str, list[str]]]:
    golden = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line]
    texts = [g["input"] for g in golden]
    topics = [g["tags"][0] if g.get("tags") else None for g in golden]
    msmarco = sorted(
        {json.loads(line)["question"] for line in RAGTRUTH.read_text(encoding="utf-8").splitlines()}
    )
    halueval = sorted({x["query"].strip() for x in json.loads(HALUEVAL.read_text("utf-8"))})
    return texts, topics, {"MS MARCO": msmarco, "HaluEval": halueval}


def decisions(result: DriftResult) -> dict[str, bool]:
    """Each test alone at α, and each family's Holm decision."""
    raw = {t.name: t.p_value for t in result.tests}
    out = {name: p < ALPHA for name, p in raw.items()}
    for method, family in FAMILIES.items():
        out[f"detector:{method}"] = min(stats.holm([raw[n] for n in family])) < ALPHA
    return out


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta  # type: ignore[import-untyped]

    a = (1 - confidence) / 2
    lower = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    upper = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lower, upper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    texts, topics, offtopic = load()
    encoder = CachedEncoder()
    t0 = time.perf_counter()
    encoder.warm(texts + [q for qs in offtopic.values() for q in qs])
    t_embed = time.perf_counter() - t0
    print(f"embedded {len(encoder.cache)} texts in {t_embed:.1f} s", file=sys.stderr)

    rng = np.random.default_rng(args.seed)
    hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    n = len(texts)
    half = n // 2
    t0 = time.perf_counter()
    for split in range(args.splits):
        order = rng.permutation(n)
        ref_idx, cur_idx = order[:half], order[half:]
        reference = [texts[i] for i in ref_idx]
        ref_topics = [topics[i] for i in ref_idx]
        currents = {"no drift": [texts[i] for i in cur_idx]}
        for source, pool in offtopic.items():
            for mix in MIXES:
                k = round(mix * len(cur_idx))
                replaced = set(rng.choice(len(cur_idx), k, replace=False).tolist())
                injected = iter(rng.choice(len(pool), k, replace=False).tolist())
                currents[f"{source} {mix:.0%}"] = [
                    pool[next(injected)] if j in replaced else texts[i]
                    for j, i in enumerate(cur_idx)
                ]
        for condition, current in currents.items():
            result = detect(
                reference,
                current,
                alpha=ALPHA,
                method="both",
                reference_topics=ref_topics,
                topics_source="tags",
                permutations=args.permutations,
                seed=split,
                encoder=encoder,
            )
            for name, rejected in decisions(result).items():
                hits[condition][name] += int(rejected)
        if (split + 1) % 10 == 0:
            print(f"{split + 1}/{args.splits} splits", file=sys.stderr)
    t_tests = time.perf_counter() - t0

    columns = [
        ("MMD", "embedding_mmd"),
        ("C2ST", "embedding_c2st"),
        ("coverage", "coverage"),
        ("topic χ²", "topic_shares"),
        ("length", "length"),
        ("language", "language"),
        ("detector mmd", "detector:mmd"),
        ("detector c2st", "detector:c2st"),
        ("detector both", "detector:both"),
        ("mmd + topic χ² (not used)", "detector:mmd+topics"),
    ]
    lines = [
        f"`{COMMAND} --splits {args.splits} --permutations {args.permutations}`: "
        f"share of {args.splits} random splits flagged at α = {ALPHA}; reference 61 golden "
        "inputs, current 61 inputs",
        "",
        "| current sample | " + " | ".join(c for c, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for condition, row in hits.items():
        cells = [f"{row[key] / args.splits:.0%}" for _, key in columns]
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    null = hits["no drift"]
    for method in FAMILIES:
        k = null[f"detector:{method}"]
        lo, hi = clopper_pearson(k, args.splits)
        lines.append("")
        lines.append(
            f"False alarms, detector {method}: {k}/{args.splits} "
            f"(95 % Clopper-Pearson {lo:.1%}-{hi:.1%})"
        )
    lines.append("")
    lines.append(
        f"Embedding {len(encoder.cache)} texts: {t_embed:.1f} s; "
        f"{len(hits) * args.splits} detections: {t_tests:.0f} s"
    )
    print("\n".join(lines))
    if args.json is not None:
        data: dict[str, Any] = {
            "splits": args.splits,
            "permutations": args.permutations,
            "alpha": ALPHA,
            "rates": {c: {k: v / args.splits for k, v in row.items()} for c, row in hits.items()},
        }
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
