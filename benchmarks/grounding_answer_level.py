"""Does an answer-level model over RAGTruth's claim labels beat the shipped max-claim rule?

Both procedures are measured by nested 5-fold cross-validation grouped by question on RAGTruth
QA dev, everything chosen inside the outer training folds, and each is rerun on SPLITS
different question splits (GroupKFold's, then seeded shuffles) because with 70 positive answers
one split's F1 moves by a point or two on the split alone. Procedures:

- shipped: train_support_model.py's (claim logistic regression on the lexical/embedding
  features, the encoder logit or both; answer score = max claim probability; C, inputs and
  threshold chosen inside).
- answer LR: a second, answer-level logistic regression (class-balanced, C from ANSWER_C by
  inner out-of-fold average precision) over the claim model's probabilities, pooled per answer
  (max, second largest, mean, count >= 0.5; out of fold within the training folds, so the answer
  model never sees probabilities fit on its own answers) and answer-level inputs: words in the
  answer, number of claims, share of the answer in uncheckable sentences, share of its content
  words no context or question holds, number of passages cited, the smallest nearest-sentence
  cosine and coverage, the largest count of new rare words, numbers no context states.
- answer HGB: the same inputs, scikit-learn's HistGradientBoostingClassifier (depth 2, 20 per
  leaf, class-balanced; iterations from HGB_ITERS chosen inside).

    .venv/bin/python benchmarks/grounding_answer_level.py [--data PATH] [--splits N] [--json OUT]

Wall time: 1,414 s in the last run, about 17 minutes of it paused by other work's timing runs
(features with the encoder about 4 minutes, five splits of three procedures about 2).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_support_model as training
from scorer_quality import f1_interval, roc_auc

from cujeval.grounding import lexical
from cujeval.grounding.calibrate import choose_threshold, evaluate_threshold
from cujeval.grounding.claims import is_checkable, split_claims
from cujeval.grounding.features import FEATURES
from cujeval.grounding.labelled import LabelledResponse, load_ragtruth

SPLITS = 5
ANSWER_C = (0.003, 0.01, 0.03, 0.1)
HGB_ITERS = (50, 150)
CITATION = re.compile(r"passage\s*\d", re.IGNORECASE)
Scorer = Callable[[np.ndarray], np.ndarray]  # answer indices -> answer scores


def answer_inputs(rows: list[LabelledResponse], table: training.Table) -> np.ndarray:
    """Per answer, the answer-level inputs named in the module doc."""

    def column(x: np.ndarray, name: str) -> np.ndarray:
        return x[:, FEATURES.index(name)] if len(x) else np.zeros(1)

    out = []
    for row, x in zip(rows, table.features, strict=True):
        claims = split_claims(row.answer)
        unchecked = sum(len(c.text) for c in claims if not is_checkable(c, row.question))
        known = set(lexical.content_stems(row.question))
        for context in row.contexts:
            known |= set(lexical.content_stems(context))
        stems = lexical.content_stems(row.answer)
        out.append(
            [
                np.log1p(len(row.answer.split())),
                np.log1p(len(claims)),
                unchecked / max(1, len(row.answer)),
                float(np.mean([s not in known for s in stems])) if stems else 0.0,
                len(CITATION.findall(row.answer)),
                column(x, "sim_max").min(),
                column(x, "coverage").min(),
                column(x, "rare_novel_words").max(),
                column(x, "missing_numbers").sum(),
            ]
        )
    return np.asarray(out, dtype=np.float64)


def pooled(p: np.ndarray) -> list[float]:
    if not len(p):
        return [0.0, 0.0, 0.0, 0.0]
    top = np.sort(p)[::-1]
    return [
        float(top[0]),
        float(top[1] if len(top) > 1 else 0.0),
        float(p.mean()),
        float((p >= 0.5).sum()),
    ]


def claim_probabilities(
    table: training.Table, train: np.ndarray, score: np.ndarray, seed: int | None
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Claim probabilities of the shipped claim model (its inputs and C chosen on ``train``):
    out of fold for ``train``, fit on all of ``train`` for ``score``."""
    chosen = training.select(table, train, training.FOLDS - 1, seed=seed)
    inner: dict[int, np.ndarray] = {}
    for a, b in training.folds(table, train, training.FOLDS - 1, seed):
        model = training.fit_set(table, a, chosen.c, chosen.feature_set)
        inner.update({int(i): model.unsupported_probability(table.features[i]) for i in b})
    model = training.fit_set(table, train, chosen.c, chosen.feature_set)
    outer = {int(i): model.unsupported_probability(table.features[i]) for i in score}
    return inner, outer


def answer_model(kind: str, setting: float, x: np.ndarray, y: np.ndarray) -> Scorer:
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        lr = LogisticRegression(C=setting, class_weight="balanced", max_iter=5000)
        lr.fit((x - mean) / scale, y)
        return lambda z: np.asarray(lr.decision_function((z - mean) / scale))
    from sklearn.ensemble import HistGradientBoostingClassifier

    hgb = HistGradientBoostingClassifier(
        max_depth=2,
        learning_rate=0.05,
        max_iter=int(setting),
        min_samples_leaf=20,
        l2_regularization=1.0,
        class_weight="balanced",
        random_state=0,
    )
    hgb.fit(x, y)
    return lambda z: np.asarray(hgb.predict_proba(z)[:, 1])


def nested_answer_level(
    table: training.Table, extra: np.ndarray, kind: str, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold answer scores and decisions of the answer-level procedure (module doc)."""
    from sklearn.metrics import average_precision_score

    grid = ANSWER_C if kind == "lr" else HGB_ITERS
    n = len(table.labels)
    scores, decided = np.zeros(n), np.zeros(n, dtype=bool)
    for train, test in training.folds(table, np.arange(n), training.FOLDS, seed):
        inner_p, outer_p = claim_probabilities(table, train, test, seed)

        def inputs(index: np.ndarray, p: dict[int, np.ndarray]) -> np.ndarray:
            return np.hstack([np.array([pooled(p[int(i)]) for i in index]), extra[index]])

        # choice of the answer model's setting and threshold: inner folds of ``train``
        inner_scores = {s: np.zeros(n) for s in grid}
        for a, b in training.folds(table, train, training.FOLDS - 1, seed):
            for s in grid:
                fitted = answer_model(kind, s, inputs(a, inner_p), table.labels[a])
                inner_scores[s][b] = fitted(inputs(b, inner_p))
        labels = table.labels[train]
        ap = {s: average_precision_score(labels, inner_scores[s][train]) for s in grid}
        best = max(grid, key=lambda s: (ap[s], -s))
        cut = choose_threshold(
            inner_scores[best][train].tolist(), table.labels[train].tolist()
        ).threshold
        fitted = answer_model(kind, best, inputs(train, inner_p), table.labels[train])
        scores[test] = fitted(inputs(test, outer_p))
        decided[test] = scores[test] >= cut
    return scores, decided


def summary(table: training.Table, scores: np.ndarray, decided: np.ndarray) -> dict[str, object]:
    from sklearn.metrics import average_precision_score

    c = evaluate_threshold(decided.astype(float).tolist(), table.labels.tolist(), 0.5)
    return {
        "precision": c.precision,
        "recall": c.recall,
        "f1": c.f1,
        "f1_ci95": f1_interval(decided, table.labels, table.groups),
        "auc": roc_auc(scores, table.labels),
        "average_precision": float(average_precision_score(table.labels, scores)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=training.RAGTRUTH)
    parser.add_argument("--splits", type=int, default=SPLITS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = load_ragtruth(args.data)
    table = training.featurize(rows)
    extra = answer_inputs(rows, table)
    seeds: list[int | None] = [None, *range(1, args.splits)]
    results: dict[str, list[dict[str, object]]] = {}
    for seed in seeds:
        runs = {
            "shipped (max claim probability)": training.nested_cv(table, seed=seed),
            "answer LR": nested_answer_level(table, extra, "lr", seed),
            "answer HGB": nested_answer_level(table, extra, "hgb", seed),
        }
        for name, (scores, decided) in runs.items():
            results.setdefault(name, []).append(summary(table, scores, decided))
        print(f"split {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(
        "| procedure | F1 % (GroupKFold split) | 95 % CI | AUC % | "
        f"mean F1 % over {len(seeds)} splits | range | mean AP |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, runs_of in results.items():
        first = runs_of[0]
        f1s = [float(r["f1"]) for r in runs_of]  # type: ignore[arg-type]
        low, high = first["f1_ci95"]  # type: ignore[misc]
        mean_ap = np.mean([float(r["average_precision"]) for r in runs_of])  # type: ignore[arg-type]
        print(
            f"| {name} | {100 * float(first['f1']):.1f} | {100 * low:.1f}–{100 * high:.1f} | "  # type: ignore[arg-type]
            f"{100 * float(first['auc']):.1f} | {100 * np.mean(f1s):.1f} | "  # type: ignore[arg-type]
            f"{100 * min(f1s):.1f}–{100 * max(f1s):.1f} | {mean_ap:.3f} |"
        )
    print(f"\n{len(rows)} answers; wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
