"""Answer drift between two runs: the same golden cases answered by run A and run B.

Cases pair by (journey, case id); with several epochs the lowest epoch with an answer stands
for the case. Per case: the cosine distance of the two answers' embeddings, their lengths,
whether each refuses, and how many sources each cites. Tests (Holm-adjusted together):

* ``answer_embedding``: T = ‖mean_i(b_i − a_i)‖² over the answer embeddings, sign-flip
  permutation p-value (a paired test: did the answers move the same way on average?);
* ``answer_length``, ``citations``: Wilcoxon signed-rank of the paired differences;
* ``refusals``: exact McNemar test of refusing in A vs B.

The per-case distance has no null of its own (a sampled target moves a little every run), so
it ranks the cases that moved most rather than deciding anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cujeval.drift import stats
from cujeval.drift.result import AnswerDriftResult, CaseDrift, TestResult
from cujeval.drift.text import citation_count, is_refusal, shorten, words
from cujeval.errors import InputError

Encoder = Callable[[list[str]], Any]


def _rows(directory: Path) -> tuple[str, dict[tuple[str, str], tuple[str, str]]]:
    """(run id, {(journey, case id): (input, answer or "" for an error)}) of a run folder."""
    from pydantic import ValidationError

    from cujeval.spec.journal import JOURNAL_NAME, read_rows
    from cujeval.spec.results import RunResult

    if not directory.is_dir():
        raise InputError("not a run folder (results.json and journal.jsonl)", file=directory)
    path = directory / "results.json"
    if not path.is_file():
        raise InputError("no results.json here", file=directory)
    try:
        result = RunResult.read(path)
        run_id, journal = result.run_id, result.journal
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(
            f"not a cujeval results.json: {err['msg']}", file=path, field=where
        ) from None
    except ValueError as exc:
        raise InputError(f"not a cujeval results.json: {exc}", file=path) from None
    jpath = directory / (journal or JOURNAL_NAME)
    if not jpath.is_file():
        raise InputError("no journal here", file=jpath)
    best: dict[tuple[str, str], tuple[int, str, str]] = {}
    for row in read_rows(jpath):
        answer = row.observation.get("answer")
        text = answer if row.ok and isinstance(answer, str) else ""
        key = (row.journey, row.case_id)
        seen = best.get(key)
        # the lowest epoch with an answer stands for the case
        if seen is None or (bool(text), -row.epoch) > (bool(seen[2]), -seen[0]):
            best[key] = (row.epoch, row.input, text)
    if not best:
        raise InputError("the journal has no rows", file=jpath)
    return run_id, {k: (v[1], v[2]) for k, v in best.items()}


def answer_drift(
    run_a: str | Path,
    run_b: str | Path,
    *,
    alpha: float = 0.05,
    permutations: int = 1000,
    flag_distance: float = 0.25,
    top: int = 10,
    seed: int = 0,
    encoder: Encoder | None = None,
) -> AnswerDriftResult:
    """Compare the answers of two run folders (``results.json`` and ``journal.jsonl``).
    Long: the folders are read, paired and tested in one pass over the rows."""
    if not 0 < alpha < 1:
        raise InputError("must be between 0 and 1", field="--alpha")
    a_dir, b_dir = Path(run_a), Path(run_b)
    a_id, a_rows = _rows(a_dir)
    b_id, b_rows = _rows(b_dir)
    common = sorted(set(a_rows) & set(b_rows))
    if not common:
        raise InputError(
            f"the runs share no case (journey and case id); {a_dir} has {len(a_rows)}, "
            f"{b_dir} has {len(b_rows)}",
            file=b_dir,
        )
    paired = [k for k in common if a_rows[k][1] and b_rows[k][1]]
    skipped = len(common) - len(paired)
    notes: list[str] = []
    if skipped:
        notes.append(f"{skipped} shared cases have no answer on one side (an error); left out")
    if len(paired) < 2:
        raise InputError(
            f"{len(paired)} shared cases have an answer in both runs; at least 2 are needed",
            file=b_dir,
        )
    ans_a = [a_rows[k][1] for k in paired]
    ans_b = [b_rows[k][1] for k in paired]
    encode = encoder if encoder is not None else _default_encoder()
    emb_a = np.asarray(encode(ans_a), dtype=np.float64)
    emb_b = np.asarray(encode(ans_b), dtype=np.float64)
    emb_a /= np.maximum(np.linalg.norm(emb_a, axis=1, keepdims=True), 1e-12)
    emb_b /= np.maximum(np.linalg.norm(emb_b, axis=1, keepdims=True), 1e-12)
    distance = np.clip(1.0 - np.sum(emb_a * emb_b, axis=1), 0.0, 2.0)

    wa, wb = [words(t) for t in ans_a], [words(t) for t in ans_b]
    ra, rb = [is_refusal(t) for t in ans_a], [is_refusal(t) for t in ans_b]
    ca, cb = [citation_count(t) for t in ans_a], [citation_count(t) for t in ans_b]
    n = len(paired)
    shift, p_emb = stats.paired_shift_test(emb_a, emb_b, permutations=permutations, seed=seed)
    raw: list[tuple[str, float, float, str]] = [
        (
            "answer_embedding",
            shift,
            p_emb,
            f"mean answer moved by ‖Δ‖² = {shift:.5f} (sign-flip permutations); per case "
            f"distance mean {distance.mean():.3f}, median {np.median(distance):.3f}",
        ),
        (
            "answer_length",
            float(np.mean(wb) - np.mean(wa)),
            stats.wilcoxon_paired(wa, wb),
            f"words per answer: mean {np.mean(wa):.1f} → {np.mean(wb):.1f} (Wilcoxon signed-rank)",
        ),
        (
            "refusals",
            (sum(rb) - sum(ra)) / n,
            stats.mcnemar_exact(ra, rb),
            f"refusal share {sum(ra) / n:.1%} → {sum(rb) / n:.1%} (exact McNemar)",
        ),
        (
            "citations",
            float(np.mean(cb) - np.mean(ca)),
            stats.wilcoxon_paired(ca, cb),
            f"citations per answer {np.mean(ca):.2f} → {np.mean(cb):.2f} (Wilcoxon signed-rank)",
        ),
    ]
    adjusted = stats.holm([r[2] for r in raw])
    tests = [
        TestResult(
            name=name,
            question="answers",
            statistic=float(stat),
            p_value=float(p),
            adjusted_p=float(adj),
            drift=adj < alpha,
            summary=summary,
        )
        for (name, stat, p, summary), adj in zip(raw, adjusted, strict=True)
    ]
    # cases whose answers did not move at all are not listed
    order = [i for i in np.argsort(-distance, kind="stable")[:top] if distance[i] > 1e-6]
    moved = [
        CaseDrift(
            journey=paired[i][0],
            case_id=paired[i][1],
            input=shorten(a_rows[paired[i]][0], 200),
            distance=float(distance[i]),
            words_a=wa[i],
            words_b=wb[i],
            refusal_a=ra[i],
            refusal_b=rb[i],
            citations_a=ca[i],
            citations_b=cb[i],
            answer_a=shorten(ans_a[i], 600),
            answer_b=shorten(ans_b[i], 600),
        )
        for i in (int(j) for j in order)
    ]
    return AnswerDriftResult(
        alpha=alpha,
        run_a=a_id,
        run_b=b_id,
        n_paired=n,
        n_only_a=len(set(a_rows) - set(b_rows)),
        n_only_b=len(set(b_rows) - set(a_rows)),
        n_skipped=skipped,
        tests=tests,
        distance={
            "mean": float(distance.mean()),
            "median": float(np.median(distance)),
            "p90": float(np.quantile(distance, 0.9)),
            "max": float(distance.max()),
        },
        flag_distance=flag_distance,
        n_flagged=int(np.sum(distance > flag_distance)),
        moved=moved,
        summary={
            "a": {
                "words": float(np.mean(wa)),
                "refusals": sum(ra) / n,
                "citations": float(np.mean(ca)),
            },
            "b": {
                "words": float(np.mean(wb)),
                "refusals": sum(rb) / n,
                "citations": float(np.mean(cb)),
            },
        },
        notes=notes,
    )


def _default_encoder() -> Encoder:
    """The bundled MiniLM (loaded on first use)."""
    from cujeval.models.embeddings import encode

    return encode
