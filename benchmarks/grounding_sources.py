"""What each training set adds to the support encoder, measured on RAGTruth QA dev.

For each support-encoder delta given (the shipped one, and ones trained by
``train_grounding_model.py --without SOURCE --out FILE``), the ``support_logit`` of every dev
claim is recomputed with that encoder (same pairs, NumPy inference) and the whole support-model
procedure of train_support_model.py is rerun under nested 5-fold question-grouped CV: the
response-level F1 with its question-resampled 95 % interval, for the full procedure (feature
set chosen inside) and for the encoder's logit alone. Rows without a delta: today's features
alone, for reference.

    .venv/bin/python benchmarks/grounding_sources.py NAME=DELTA [NAME=DELTA ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_support_model as training
from scorer_quality import f1_interval, roc_auc

from cujeval.grounding.calibrate import evaluate_threshold
from cujeval.grounding.claims import is_checkable, split_claims
from cujeval.grounding.embedding_cache import default_cache
from cujeval.grounding.encoder import pairs
from cujeval.grounding.features import FEATURES, build_evidence
from cujeval.grounding.labelled import load_ragtruth
from cujeval.models.cross_encoder import CrossEncoder

COLUMN = FEATURES.index("support_logit")


def claim_pairs(data: Path) -> list[list[tuple[str, str]]]:
    """Per dev answer, the encoder's (first, second) pair for each checkable claim."""
    out = []
    for row in load_ragtruth(data):
        claims = [c for c in split_claims(row.answer) if is_checkable(c, row.question)]
        evidence = build_evidence(row.contexts, default_cache.encode)
        if not claims or not evidence.units:
            out.append([])
            continue
        sims = default_cache.encode([c.body for c in claims]) @ evidence.embeddings.T
        out.append(pairs(claims, row.question, evidence, sims))
    return out


def with_logits(table: training.Table, logits: list[np.ndarray]) -> training.Table:
    features = []
    for f, z in zip(table.features, logits, strict=True):
        f = f.copy()
        if len(f) and len(z):
            f[:, COLUMN] = z
        features.append(f)
    return training.Table(features, table.claim_labels, table.labels, table.groups)


def nested(table: training.Table, sets: tuple[str, ...]) -> dict[str, object]:
    scores, decided = training.nested_cv(table, sets)
    c = evaluate_threshold(decided.astype(float).tolist(), table.labels.tolist(), 0.5)
    low, high = f1_interval(decided, table.labels, table.groups)
    return {
        "precision": c.precision,
        "recall": c.recall,
        "f1": c.f1,
        "f1_ci95": (low, high),
        "auc": roc_auc(scores, table.labels),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("deltas", nargs="+", help="NAME=PATH of a support-encoder delta")
    parser.add_argument("--data", type=Path, default=training.RAGTRUTH)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    table = training.featurize(load_ragtruth(args.data))
    every = claim_pairs(args.data)
    flat = [p for answer in every for p in answer]
    results: dict[str, dict[str, object]] = {"features alone": nested(table, ("features",))}
    for spec in args.deltas:
        name, _, path = spec.partition("=")
        encoder = CrossEncoder(path)
        z = encoder.logits([a for a, _ in flat], [b for _, b in flat])
        logits, start = [], 0
        for answer in every:
            logits.append(z[start : start + len(answer)])
            start += len(answer)
        variant = with_logits(table, logits)
        results[f"{name}: chosen by nested CV"] = nested(variant, tuple(training.FEATURE_SETS))
        results[f"{name}: encoder alone"] = nested(variant, ("encoder",))
    print("| encoder / inputs | precision % | recall % | F1 % | F1 95 % CI | AUC % |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        low, high = r["f1_ci95"]  # type: ignore[misc]
        print(
            f"| {name} | {100 * r['precision']:.1f} | {100 * r['recall']:.1f} | "  # type: ignore[operator]
            f"{100 * r['f1']:.1f} | {100 * low:.1f}–{100 * high:.1f} | {100 * r['auc']:.1f} |"  # type: ignore[operator]
        )
    print(f"\n{len(table.labels)} answers, {len(flat)} checkable claims; nested 5-fold CV.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
