"""Why the support encoder ranks RAGTruth claims near chance: its own data, then RAGTruth.

For a support-encoder delta (default: the shipped one):
1. Per training source, ROC AUC of its logit on a seeded sample of the pairs it was trained on
   (cached by train_grounding_model.py in --work) and on items of that source it never saw
   (where the source has unused items of both labels: HaluEval questions, SummEdits and BEGIN
   rows left out by the per-source sample), their pairs built as training builds them.
2. The HaluEval length shortcut: how often the hallucinated answer is longer than the right one
   of the same item, and the AUC of answer length alone on the held-back HaluEval pairs.
3. RAGTruth QA dev, claim level (a claim is unsupported when a labelled span overlaps it): AUC
   of the logit, of the claim's length alone, and the mean logit of claims whose paired
   evidence holds every content word of question and claim against those with a word it lacks.

    .venv/bin/python benchmarks/grounding_encoder_diagnosis.py [--delta FILE] [--sample N]

Wall time: 296 s on the 2 shared cores for the shipped delta (needs the training pair cache).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_grounding_model as tg
from grounding_sources import claim_pairs
from scorer_quality import roc_auc

from cujeval.grounding.claims import is_checkable, split_claims
from cujeval.grounding.encoder import DEFAULT_PATH
from cujeval.grounding.labelled import claim_labels, load_ragtruth
from cujeval.grounding.lexical import content_stems
from cujeval.grounding.premise import first_text
from cujeval.models.cross_encoder import CrossEncoder

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")
SAMPLE = 250
SEED = 1


def auc(scores: list[float] | np.ndarray, labels: list[int] | np.ndarray) -> float:
    return roc_auc(np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool))


def own_data(model: CrossEncoder, work: Path, data: Path, n: int) -> dict[str, dict[str, float]]:
    rng = random.Random(SEED)
    builder = tg.PairBuilder()
    out: dict[str, dict[str, float]] = {}
    for source in tg.SOURCES:
        lines = (work / f"pairs_{source}.jsonl").read_text(encoding="utf-8").splitlines()
        used = [json.loads(line) for line in lines]
        seen = {(p["first"], p["label"]) for p in used}
        sample = rng.sample(used, min(n, len(used)))
        z = model.logits([p["first"] for p in sample], [p["second"] for p in sample])
        row = {"trained_pairs_auc": auc(z, [p["label"] for p in sample])}
        limit = tg.HALUEVAL_ITEMS
        tg.HALUEVAL_ITEMS = 10**9  # every HaluEval question, not only the ones sampled
        try:
            items = tg.LOADERS[source](data, random.Random(SEED))
        finally:
            tg.HALUEVAL_ITEMS = limit
        unseen = [
            i for i in items if (first_text(i.question, i.text), int(i.unsupported)) not in seen
        ]
        if len({i.unsupported for i in unseen}) == 2:
            picked = rng.sample(unseen, min(n, len(unseen)))
            firsts = [first_text(i.question, i.text) for i in picked]
            seconds = [
                builder.second(f, i.text, i.evidence) for f, i in zip(firsts, picked, strict=True)
            ]
            labels = [int(i.unsupported) for i in picked]
            row["unseen_items_auc"] = auc(model.logits(firsts, seconds), labels)
            row["unseen_items"] = len(picked)
            if source == "halueval":
                row["unseen_length_alone_auc"] = auc([len(i.text.split()) for i in picked], labels)
        out[source] = row
        print(source, row, file=sys.stderr, flush=True)
    return out


def halueval_lengths(data: Path) -> dict[str, float]:
    rows = tg.halueval_rows(data)
    right = np.array([len(r["right_answer"].split()) for r in rows.values()])
    wrong = np.array([len(r["hallucinated_answer"].split()) for r in rows.values()])
    return {
        "items": len(rows),
        "hallucinated_longer_share": float(np.mean(wrong > right) + 0.5 * np.mean(wrong == right)),
        "median_words_right": float(np.median(right)),
        "median_words_hallucinated": float(np.median(wrong)),
    }


def ragtruth(model: CrossEncoder, path: Path) -> dict[str, float]:
    rows = load_ragtruth(path)
    every = claim_pairs(path)
    flat = [p for answer in every for p in answer]
    z = model.logits([a for a, _ in flat], [b for _, b in flat])
    labels: list[bool] = []
    lengths: list[int] = []
    for row, answer in zip(rows, every, strict=True):
        claims = [c for c in split_claims(row.answer) if is_checkable(c, row.question)]
        if answer:
            labels += claim_labels(claims, row.spans)
            lengths += [len(c.body.split()) for c in claims]
    copied = np.array(
        [set(content_stems(first)) <= set(content_stems(second)) for first, second in flat]
    )
    return {
        "claims": len(flat),
        "unsupported": int(np.sum(labels)),
        "logit_auc": auc(z, np.asarray(labels)),
        "length_alone_auc": auc(lengths, np.asarray(labels)),
        "logit_length_spearman": float(
            np.corrcoef(np.argsort(np.argsort(z)), np.argsort(np.argsort(lengths)))[0, 1]
        ),
        "mean_logit_all_words_in_evidence": float(z[copied].mean()),
        "mean_logit_new_words": float(z[~copied].mean()),
        "share_all_words_in_evidence": float(copied.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delta", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--data", type=Path, default=tg.DATA)
    parser.add_argument("--work", type=Path, default=tg.WORK)
    parser.add_argument("--ragtruth", type=Path, default=RAGTRUTH)
    parser.add_argument("--sample", type=int, default=SAMPLE)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = CrossEncoder(args.delta)
    report = {
        "delta": str(args.delta),
        "own_data": own_data(model, args.work, args.data, args.sample),
        "halueval_lengths": halueval_lengths(args.data),
        "ragtruth_dev_claims": ragtruth(model, args.ragtruth),
        "wall_seconds": round(time.perf_counter() - started),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
