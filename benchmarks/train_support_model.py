"""Train the claim support model on RAGTruth QA dev and write support_model.json.

Procedure (deterministic: folds are grouped by question without shuffling, lbfgs is exact):
1. Claims of every answer; a checkable claim is labelled unsupported when a human-annotated
   hallucination span overlaps it. Features from cujeval.grounding.features, among them the
   support encoder's logit (trained beforehand on other data: train_grounding_model.py).
2. Logistic regression (class_weight="balanced", standardised features). The inputs (one of
   FEATURE_SETS: the lexical/embedding features, the encoder's logit alone, or both) and C are
   picked from a small grid by the average precision of the out-of-fold answer scores (max claim
   probability) in 5-fold cross-validation grouped by question, so no question is in train and
   test. Its
   score is then rescaled by a one-feature, unweighted logistic fit (Platt scaling), so that
   p(unsupported) is a calibrated claim-level probability; the ranking does not change.
3. Threshold: max F1 over those out-of-fold answer scores (cujeval.grounding.calibrate).
4. The shipped model is refit on all of dev with that choice (unused features get weight 0).
The honest estimate of the whole procedure (steps 2-4 rerun inside each outer fold) is nested
cross-validation; it is what scorer_quality.py reports as "cross-validated".

    .venv/bin/python benchmarks/train_support_model.py [--data PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cujeval.grounding.calibrate import choose_threshold
from cujeval.grounding.features import FEATURES
from cujeval.grounding.judge import analyse
from cujeval.grounding.labelled import LabelledResponse, claim_labels, load_ragtruth
from cujeval.grounding.model import DEFAULT_PATH, SupportModel

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)
LEXICAL = tuple(f for f in FEATURES if f != "support_logit")
# the candidate inputs: today's features alone, the support encoder alone, or both
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "features": LEXICAL,
    "encoder": ("support_logit",),
    "both": FEATURES,
}
FOLDS = 5
SEED = 0


@dataclass(frozen=True)
class Table:
    """Per answer: checkable-claim features and labels, the answer label, its CV group."""

    features: list[np.ndarray]
    claim_labels: list[np.ndarray]
    labels: np.ndarray
    groups: np.ndarray


def featurize(rows: list[LabelledResponse]) -> Table:
    features, claims_y = [], []
    for row in rows:
        analysis = analyse(row.answer, row.contexts, row.question)
        checked = [c for c, ok in zip(analysis.claims, analysis.checkable, strict=True) if ok]
        features.append(analysis.features)
        claims_y.append(np.asarray(claim_labels(checked, row.spans), dtype=bool))
    return Table(
        features=features,
        claim_labels=claims_y,
        labels=np.array([r.hallucinated for r in rows]),
        groups=np.array([r.group for r in rows]),
    )


def fit(
    table: Table,
    index: np.ndarray,
    c: float,
    threshold: float = 0.5,
    features: tuple[str, ...] = FEATURES,
) -> SupportModel:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([table.features[i] for i in index])
    y = np.concatenate([table.claim_labels[i] for i in index])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)
    lr.fit(z, y)
    direction = z @ lr.coef_[0] + lr.intercept_[0]
    platt = LogisticRegression(C=1e6, max_iter=5000, random_state=SEED)
    platt.fit(direction[:, None], y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    return SupportModel(
        features=features,
        mean=tuple(mean.tolist()),
        scale=tuple(scale.tolist()),
        coef=tuple((a * lr.coef_[0]).tolist()),
        intercept=a * float(lr.intercept_[0]) + b,
        threshold=threshold,
    )


def columns(table: Table, names: tuple[str, ...]) -> Table:
    """The table with only the named feature columns (of FEATURES), in that order."""
    keep = [FEATURES.index(n) for n in names]
    return Table(
        [f[:, keep] for f in table.features], table.claim_labels, table.labels, table.groups
    )


def widen(model: SupportModel) -> SupportModel:
    """A model over a subset of FEATURES as one over all of them (coefficient 0 elsewhere)."""
    if model.features == FEATURES:
        return model
    given = dict(
        zip(model.features, zip(model.mean, model.scale, model.coef, strict=True), strict=True)
    )
    mean, scale, coef = zip(*(given.get(f, (0.0, 1.0, 0.0)) for f in FEATURES), strict=True)
    return replace(model, features=FEATURES, mean=mean, scale=scale, coef=coef)


def fit_set(
    table: Table, index: np.ndarray, c: float, feature_set: str, threshold: float = 0.5
) -> SupportModel:
    """:func:`fit` on one of FEATURE_SETS, as a model over all FEATURES."""
    names = FEATURE_SETS[feature_set]
    return widen(fit(columns(table, names), index, c, threshold, features=names))


def answer_scores(model: SupportModel, table: Table, index: np.ndarray) -> np.ndarray:
    """Max p(unsupported) over each answer's checkable claims (0 when it has none)."""
    out = []
    for i in index:
        x = table.features[i]
        out.append(float(model.unsupported_probability(x).max()) if len(x) else 0.0)
    return np.array(out)


def folds(
    table: Table, index: np.ndarray, k: int, seed: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) splits of ``index`` with no question on both sides: GroupKFold's
    (the shipped procedure), or with ``seed`` a seeded shuffle of the questions into ``k``
    folds (to see how much a figure moves with the split alone)."""
    from sklearn.model_selection import GroupKFold

    if seed is None:
        splitter = GroupKFold(n_splits=k)
        return [(index[a], index[b]) for a, b in splitter.split(index, groups=table.groups[index])]
    names = np.unique(table.groups[index])
    np.random.default_rng([seed, len(index)]).shuffle(names)
    fold_of = {name: j % k for j, name in enumerate(names)}
    fold = np.array([fold_of[g] for g in table.groups[index]])
    return [(index[fold != j], index[fold == j]) for j in range(k)]


def out_of_fold(
    table: Table,
    index: np.ndarray,
    c: float,
    k: int,
    feature_set: str = "both",
    seed: int | None = None,
) -> np.ndarray:
    scores = np.zeros(len(table.labels))
    for train, test in folds(table, index, k, seed):
        scores[test] = answer_scores(fit_set(table, train, c, feature_set), table, test)
    picked: np.ndarray = scores[index]
    return picked


@dataclass(frozen=True)
class Selection:
    """What the documented rule picks from ``index`` alone (see the module doc)."""

    c: float
    feature_set: str
    threshold: float
    average_precision: dict[str, float]
    out_of_fold: np.ndarray  # answer scores at ``c`` with ``feature_set``


def select(
    table: Table,
    index: np.ndarray,
    k: int,
    sets: tuple[str, ...] = tuple(FEATURE_SETS),
    seed: int | None = None,
) -> Selection:
    from sklearn.metrics import average_precision_score

    labels = table.labels[index]
    grid = [(name, c) for name in sets for c in C_GRID]
    scores = {(name, c): out_of_fold(table, index, c, k, name, seed) for name, c in grid}
    ap = {f"{n} C={c}": float(average_precision_score(labels, s)) for (n, c), s in scores.items()}
    name, best = max(grid, key=lambda g: (ap[f"{g[0]} C={g[1]}"], -g[1]))
    threshold = choose_threshold(scores[name, best].tolist(), labels.tolist()).threshold
    return Selection(best, name, threshold, ap, scores[name, best])


def nested_cv(
    table: Table, sets: tuple[str, ...] = tuple(FEATURE_SETS), seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold answer scores and decisions, the whole procedure (choice of feature set and
    C, threshold, fit) rerun inside each outer fold (``seed``: see :func:`folds`)."""
    everything = np.arange(len(table.labels))
    scores = np.zeros(len(everything))
    decided = np.zeros(len(everything), dtype=bool)
    for train_idx, test_idx in folds(table, everything, FOLDS, seed):
        chosen = select(table, train_idx, FOLDS - 1, sets, seed)
        model = fit_set(table, train_idx, chosen.c, chosen.feature_set, chosen.threshold)
        scores[test_idx] = answer_scores(model, table, test_idx)
        decided[test_idx] = scores[test_idx] >= chosen.threshold
    return scores, decided


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=RAGTRUTH)
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    rows = load_ragtruth(args.data)
    table = featurize(rows)
    chosen = select(table, np.arange(len(rows)), FOLDS)
    digest = hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]
    oof_at = choose_threshold(chosen.out_of_fold.tolist(), table.labels.tolist())
    info = {
        "trained_on": f"RAGTruth QA dev ({args.data.name}, sha256 {digest}), {len(rows)} answers, "
        f"{sum(len(y) for y in table.claim_labels)} checkable claims",
        "model": "logistic regression, class_weight=balanced, standardised features, "
        "then Platt scaling (unweighted) of its score",
        "C": chosen.c,
        "feature_set": chosen.feature_set,
        "feature_sets": {k: list(v) for k, v in FEATURE_SETS.items()},
        "C_rule": f"feature set and C: max out-of-fold average precision over "
        f"{list(FEATURE_SETS)} x {list(C_GRID)}, {FOLDS}-fold CV grouped by question",
        "average_precision_by_set_and_C": chosen.average_precision,
        "threshold_rule": f"max F1 of out-of-fold answer scores ({FOLDS}-fold, grouped)",
        "answer_score": "max p(unsupported) over checkable claims",
        "oof_at_threshold": {
            "precision": round(oof_at.precision, 4),
            "recall": round(oof_at.recall, 4),
            "f1": round(oof_at.f1, 4),
            "balanced_accuracy": round(oof_at.balanced_accuracy, 4),
        },
        "command": "python benchmarks/train_support_model.py",
    }
    everything = np.arange(len(rows))
    fitted = fit_set(table, everything, chosen.c, chosen.feature_set, chosen.threshold)
    shipped = replace(fitted, info=info)
    args.out.write_text(json.dumps(shipped.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(shipped.to_dict(), indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
