"""Response-level hallucination detection quality of the offline faithfulness scorer.

On RAGTruth QA dev (414 answers) and HaluEval QA (200 items), hallucinated = positive:
precision, recall, F1, balanced accuracy at the shipped threshold, and ROC AUC of the score.
F1 comes with a 95 % interval from a bootstrap that resamples whole questions (answers to one
question are not independent); with 70 positives in RAGTruth dev it is several points wide, so
differences of a point or two between detectors are not measurable on this data.
HaluEval also with a threshold calibrated on HaluEval (what `cujeval calibrate`
gives a user with labelled cases), cross-validated: each fold's threshold is chosen on the
others. Also the nested cross-validated figures on RAGTruth (the whole training procedure of
train_support_model.py rerun inside each of 5 question-grouped folds): the honest estimate,
since the shipped model was fit on all of RAGTruth dev. Needs scikit-learn for that part.

    .venv/bin/python benchmarks/scorer_quality.py [--ragtruth PATH] [--halueval PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_support_model as training

from cujeval.grounding.calibrate import Calibration, choose_threshold, evaluate_threshold
from cujeval.grounding.labelled import load_halueval, load_ragtruth
from cujeval.grounding.model import default_model

HALUEVAL = Path("/work/shared/data/halueval_qa/qa_samples_200.json")
COMMAND = "python benchmarks/scorer_quality.py"


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting one half."""
    pos, neg = scores[labels], scores[~labels]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def cross_validated_threshold(scores: np.ndarray, labels: np.ndarray, folds: int = 5) -> np.ndarray:
    """Decisions where each fold's threshold is chosen (max F1) on the other folds only;
    folds are every ``folds``-th item, in file order."""
    decided = np.zeros(len(scores), dtype=bool)
    fold_of = np.arange(len(scores)) % folds
    for fold in range(folds):
        train = fold_of != fold
        cut = choose_threshold(scores[train].tolist(), labels[train].tolist()).threshold
        decided[~train] = scores[~train] >= cut
    return decided


def f1_interval(
    decided: np.ndarray, labels: np.ndarray, groups: np.ndarray, rounds: int = 2000
) -> tuple[float, float]:
    """95 % percentile interval of F1 over bootstrap resamples of whole groups (seeded)."""
    rng = np.random.default_rng(0)
    names, group_of = np.unique(groups, return_inverse=True)
    tp = np.bincount(group_of, weights=decided & labels, minlength=len(names))
    fp = np.bincount(group_of, weights=decided & ~labels, minlength=len(names))
    fn = np.bincount(group_of, weights=~decided & labels, minlength=len(names))
    picks = rng.integers(0, len(names), size=(rounds, len(names)))
    tps, fps, fns = tp[picks].sum(axis=1), fp[picks].sum(axis=1), fn[picks].sum(axis=1)
    f1 = np.divide(2 * tps, 2 * tps + fps + fns, out=np.zeros(rounds), where=tps > 0)
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)


def row(name: str, c: Calibration, auc: float, interval: tuple[float, float]) -> str:
    threshold = "per fold" if math.isnan(c.threshold) else f"{c.threshold:.3f}"
    low, high = interval
    return (
        f"| {name} | {c.n} | {c.positives} | {threshold} | {100 * c.precision:.1f} | "
        f"{100 * c.recall:.1f} | {100 * c.f1:.1f} | {100 * low:.1f}–{100 * high:.1f} | "
        f"{100 * c.balanced_accuracy:.1f} | {100 * auc:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ragtruth", type=Path, default=training.RAGTRUTH)
    parser.add_argument("--halueval", type=Path, default=HALUEVAL)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    model = default_model()
    figures: dict[str, dict[str, float]] = {}
    lines = [
        "| data | n | positives | threshold | precision % | recall % | F1 % | F1 95 % CI "
        "| bal. acc. % | AUC % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def report(
        name: str,
        c: Calibration,
        auc: float,
        decided: np.ndarray,
        table: training.Table,
        key: str | None = None,
    ) -> None:
        interval = f1_interval(decided, table.labels, table.groups)
        lines.append(row(name, c, auc, interval))
        figures[key or name] = {**c.__dict__, "auc": auc, "f1_ci95": interval}

    ragtruth = training.featurize(load_ragtruth(args.ragtruth))
    everything = np.arange(len(ragtruth.labels))
    for name, table, recalibrate in (
        ("RAGTruth QA dev, shipped model", ragtruth, False),
        ("HaluEval QA 200, shipped model", training.featurize(load_halueval(args.halueval)), True),
    ):
        index = np.arange(len(table.labels))
        scores = training.answer_scores(model, table, index)
        c = evaluate_threshold(scores.tolist(), table.labels.tolist(), model.threshold)
        auc = roc_auc(scores, table.labels)
        report(name, c, auc, scores >= model.threshold, table)
        if not recalibrate:
            continue
        own = cross_validated_threshold(scores, table.labels)
        c = evaluate_threshold(own.astype(float).tolist(), table.labels.tolist(), 0.5)
        c = Calibration(**{**c.__dict__, "threshold": float("nan"), "rule": "calibrated"})
        label = name.replace("shipped model", "threshold calibrated on it (5-fold CV)")
        report(label, c, auc, own, table)
    nested_scores, decided = training.nested_cv(ragtruth)
    c = evaluate_threshold(decided.astype(float).tolist(), ragtruth.labels.tolist(), 0.5)
    c = Calibration(**{**c.__dict__, "threshold": float("nan"), "rule": "nested CV"})
    auc = roc_auc(nested_scores, ragtruth.labels)
    name = "RAGTruth QA dev, nested 5-fold CV (per-fold threshold)"
    report(name, c, auc, decided, ragtruth, key="RAGTruth QA dev, nested CV")
    print("\n".join(lines))
    print(
        f"\nanswer score = max p(unsupported) over checkable claims; shipped threshold "
        f"{model.threshold:.3f} ({model.info.get('threshold_rule', '')}); "
        f"{len(everything)} RAGTruth answers."
    )
    print(f"re-run: {COMMAND}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
