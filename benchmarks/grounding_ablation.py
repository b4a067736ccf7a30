"""What each support feature and the answer-level rule are worth, on RAGTruth QA dev.

Screening, not the headline figure: every row uses the same 5-fold question-grouped
out-of-fold claim probabilities (the shipped C, no nesting) and picks its best-F1 threshold on
those same scores, so F1 here is optimistic. Compare rows with each other; the honest estimate
of the shipped procedure is the nested row of scorer_quality.py. Rows:

- shipped: the nine features of cujeval.grounding.features, answer score = max over claims
- without <feature>: the same with one feature left out
- answer = <rule>: the shipped claim model, answer scores pooled another way

    .venv/bin/python benchmarks/grounding_ablation.py [--data PATH]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_support_model as training
from scorer_quality import roc_auc

from cujeval.grounding.calibrate import choose_threshold
from cujeval.grounding.features import FEATURES
from cujeval.grounding.labelled import load_ragtruth
from cujeval.grounding.model import default_model

Pool = Callable[[np.ndarray], float]
POOLS: dict[str, Pool] = {
    "max": lambda p: float(p.max()),
    "sum of top two": lambda p: float(np.sort(p)[-2:].sum()),
    "noisy-or": lambda p: float(1.0 - np.prod(1.0 - p)),
    "mean": lambda p: float(p.mean()),
}


def without(table: training.Table, column: int) -> training.Table:
    keep = [i for i in range(len(FEATURES)) if i != column]
    return training.Table(
        features=[f[:, keep] for f in table.features],
        claim_labels=table.claim_labels,
        labels=table.labels,
        groups=table.groups,
    )


def out_of_fold(
    table: training.Table, c: float, pool: Pool, features: tuple[str, ...] = FEATURES
) -> np.ndarray:
    """Answer scores, each from a claim model fit on the other question-grouped folds."""
    index = np.arange(len(table.labels))
    scores = np.zeros(len(index))
    for train, test in training.folds(table, index, training.FOLDS):
        model = training.fit(table, train, c, features=features)
        for i in test:
            x = table.features[i]
            scores[i] = pool(model.unsupported_probability(x)) if len(x) else 0.0
    return scores


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def line(name: str, scores: np.ndarray, labels: np.ndarray) -> str:
    best = choose_threshold(scores.tolist(), labels.tolist())
    return (
        f"| {name} | {100 * roc_auc(scores, labels):.1f} | "
        f"{100 * average_precision(scores, labels):.1f} | {100 * best.f1:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=training.RAGTRUTH)
    args = parser.parse_args(argv)
    table = training.featurize(load_ragtruth(args.data))
    c = float(default_model().info.get("C", 0.01))
    labels = table.labels
    lines = ["| variant | AUC % | AP % | best F1 % (optimistic) |", "|---|---|---|---|"]
    lines.append(line("shipped", out_of_fold(table, c, POOLS["max"]), labels))
    for column, feature in enumerate(FEATURES):
        rest = tuple(f for f in FEATURES if f != feature)
        scores = out_of_fold(without(table, column), c, POOLS["max"], rest)
        lines.append(line(f"without {feature}", scores, labels))
    for name, pool in POOLS.items():
        if name != "max":
            lines.append(line(f"answer = {name}", out_of_fold(table, c, pool), labels))
    print("\n".join(lines))
    print(f"\nC = {c} (shipped); {len(labels)} answers, {int(labels.sum())} hallucinated.")
    print("re-run: python benchmarks/grounding_ablation.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
