"""Choose a decision threshold for a score from labelled examples.

A case is predicted positive (hallucinated) when ``score >= threshold``. Candidate thresholds
are the distinct observed scores. With TP, FP, FN, TN counted at a threshold:

    precision = TP / (TP + FP)      (0 when nothing is predicted positive)
    recall    = TP / (TP + FN)
    F1        = 2 · precision · recall / (precision + recall)   (0 when both are 0)
    balanced accuracy = (recall + TN / (TN + FP)) / 2

Rules:
- ``max_f1``: the candidate with the highest F1; ties go to the higher balanced accuracy,
  then to the higher threshold.
- ``target_recall=R``: the highest candidate whose recall is at least R (the most precise
  threshold that still catches that share of positives).
- ``target_precision=P``: the lowest candidate whose precision is at least P (the most
  recall at that precision); if none reaches P, the most precise candidate.

The shipped hallucination threshold was chosen with ``max_f1`` on out-of-fold scores of a
5-fold, question-grouped cross-validation on RAGTruth QA dev (benchmarks/train_support_model.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cujeval.errors import InputError

_TARGET = re.compile(r"^target_(recall|precision)\s*=\s*([0-9]*\.?[0-9]+)$")


@dataclass(frozen=True)
class Calibration:
    """A threshold and how the labelled data fare at it."""

    threshold: float
    precision: float
    recall: float
    f1: float
    balanced_accuracy: float
    n: int
    positives: int
    rule: str


def evaluate_threshold(
    scores: Sequence[float], labels: Sequence[bool], threshold: float, *, rule: str = "fixed"
) -> Calibration:
    """Precision, recall, F1 and balanced accuracy of ``score >= threshold`` (see module doc)."""
    _check(scores, labels)
    tp = fp = fn = tn = 0
    for score, label in zip(scores, labels, strict=True):
        predicted = score >= threshold
        if predicted and label:
            tp += 1
        elif predicted:
            fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    return Calibration(
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=f1,
        balanced_accuracy=(recall + specificity) / 2,
        n=len(labels),
        positives=tp + fn,
        rule=rule,
    )


def choose_threshold(
    scores: Sequence[float], labels: Sequence[bool], *, rule: str = "max_f1"
) -> Calibration:
    """The threshold the ``rule`` picks among the observed scores (see module doc)."""
    _check(scores, labels)
    if not any(labels) or all(labels):
        raise InputError("calibration needs both positive and negative labels", field="labels")
    candidates = [evaluate_threshold(scores, labels, t, rule=rule) for t in sorted(set(scores))]
    if rule == "max_f1":
        return max(candidates, key=lambda c: (c.f1, c.balanced_accuracy, c.threshold))
    match = _TARGET.match(rule.strip())
    if not match:
        raise InputError(
            f"unknown rule {rule!r}; use 'max_f1', 'target_recall=0.8' or 'target_precision=0.6'",
            field="rule",
        )
    kind, target = match.group(1), float(match.group(2))
    if not 0.0 < target <= 1.0:
        raise InputError(f"rule {rule!r}: the target must be within (0, 1]", field="rule")
    if kind == "recall":
        return max((c for c in candidates if c.recall >= target), key=lambda c: c.threshold)
    reaching = [c for c in candidates if c.precision >= target]
    if reaching:
        return min(reaching, key=lambda c: c.threshold)
    return max(candidates, key=lambda c: (c.precision, c.threshold))


def _check(scores: Sequence[float], labels: Sequence[bool]) -> None:
    if len(scores) != len(labels):
        raise InputError(
            f"{len(scores)} scores but {len(labels)} labels: they must pair up", field="labels"
        )
    if not scores:
        raise InputError("no scored examples to calibrate on", field="scores")
    if any(not math.isfinite(s) for s in scores):
        raise InputError("scores must be finite numbers", field="scores")
