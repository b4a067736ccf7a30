"""Faithfulness and hallucination of an answer to its retrieved contexts, offline.

One computation yields both SLIs (the judge lives in cujeval.grounding):
- ``faithfulness``: supported claims / checkable claims, 0..1;
- ``hallucination``: True when at least one claim is unsupported at the decision threshold,
  i.e. ``metadata["score"]`` (max p(unsupported) over claims) >= ``metadata["threshold"]``.

Not scorable when the target errored, gave no answer, or returned no contexts: with nothing
retrieved there is nothing to be faithful to, which is not a faithfulness of 0.

Judging is CPU-bound (the embedding model plus Python feature code), so every case is judged on
one dedicated worker thread, one at a time: on 2 cores, judging 4 cases at once made the model's
threads fight the feature code for the cores and was 25-30 % slower than one after another
(benchmarks/faithfulness_throughput.py). Its own thread also keeps the event loop's default
executor free for the targets and scorers that need it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cujeval.scorers.base import Score, Scorer, Scores, scorer
from cujeval.spec.records import Context, GoldenCase, Observation

if TYPE_CHECKING:
    from cujeval.grounding.judge import ClaimVerdict, Judgement

METHODS = ("offline",)
SLIS = ("faithfulness", "hallucination")
_NEEDS = ("answer", "contexts")
_SHOWN = 160
_WORDS = 8  # new words shown per unsupported claim
# The one thread all offline judging runs on; no thread starts until the first case is judged.
_JUDGING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cujeval-judge")


def _short(text: str, limit: int = _SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _context_id(contexts: list[Context], index: int | None) -> str | None:
    if index is None:
        return None
    return contexts[index].id or f"#{index + 1}"


def _unscorable_reason(obs: Observation) -> str | None:
    if obs.empty:
        return "the target returned an empty answer: no claim to check (counted as an error)"
    if not obs.ok:
        return f"target error ({obs.status})"
    if not obs.answer or not obs.answer.strip():
        return "the target returned no answer"
    if not obs.contexts or not any(c.text.strip() for c in obs.contexts):
        return "the target returned no contexts to ground the answer on"
    return None


def _claim_record(c: ClaimVerdict, contexts: list[Context]) -> dict[str, Any]:
    p = c.unsupported_probability
    return {
        "text": c.text,
        "checkable": c.checkable,
        "support_probability": None if p is None else 1.0 - p,
        "supported": c.supported,
        "nearest_context_id": _context_id(contexts, c.nearest_passage),
        "new_words": list(c.new_words),
    }


def _faithfulness(verdict: Judgement, contexts: list[Context], common: dict[str, Any]) -> Score:
    checked, unsupported = verdict.checked, verdict.unsupported
    if not checked:
        summary = "no checkable claim (only hedges or restatements of the question)"
    else:
        summary = f"{len(checked) - len(unsupported)} of {len(checked)} checkable claims supported"
    details = [
        f"- {_short(c.text)!r} (support {1 - (c.unsupported_probability or 0.0):.2f}; "
        + (f"words in no context: {', '.join(c.new_words[:_WORDS])}; " if c.new_words else "")
        + f"nearest {_context_id(contexts, c.nearest_passage)}: {_short(c.nearest_text)!r})"
        for c in unsupported
    ]
    return Score(
        value=verdict.faithfulness,
        explanation="\n".join([summary + ("; unsupported:" if details else ""), *details]),
        metadata={**common, "claims": [_claim_record(c, contexts) for c in verdict.claims]},
    )


def _hallucination(verdict: Judgement, common: dict[str, Any]) -> Score:
    score = verdict.hallucination_score
    worst = max(verdict.checked, key=lambda c: c.unsupported_probability or 0.0, default=None)
    relation = ">=" if verdict.hallucinated else "<"
    explanation = (
        f"score (max claim p_unsupported) {score:.2f} {relation} threshold {verdict.threshold:.2f}"
    )
    if worst is not None:
        explanation += f"; worst claim: {_short(worst.text)!r}"
        if worst.new_words:
            explanation += f" (words in no context: {', '.join(worst.new_words[:_WORDS])})"
    return Score(
        value=verdict.hallucinated, explanation=explanation, metadata={**common, "score": score}
    )


def _offline(
    answer: str, contexts: list[Context], question: str, threshold: float | None
) -> Scores:
    from cujeval.grounding.judge import judge

    verdict = judge(answer, [c.text for c in contexts], question, threshold=threshold)
    common = {
        "method": "offline",
        "threshold": verdict.threshold,
        "checkable_claims": len(verdict.checked),
        "unsupported_claims": len(verdict.unsupported),
    }
    return {
        "faithfulness": _faithfulness(verdict, contexts, common),
        "hallucination": _hallucination(verdict, common),
    }


@scorer("hallucination", needs=_NEEDS, outputs=SLIS)
@scorer("faithfulness", needs=_NEEDS, outputs=SLIS)
def faithfulness(*, threshold: float | None = None, method: str = "offline") -> Scorer:
    """Share of the answer's claims supported by the retrieved contexts; also `hallucination`.

    ``threshold``: p(unsupported) at which a claim counts as unsupported (default: the shipped,
    calibrated one). ``method``: "offline" (MiniLM embeddings and lexical checks combined by a
    logistic model, with a fine-tuned MiniLM support encoder where the shipped model gives it
    weight; docs/grounding.md).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0.0 <= threshold <= 1.0
    ):
        raise ValueError(f"threshold must be a number within 0..1, got {threshold!r}")

    async def score(case: GoldenCase, obs: Observation) -> Scores:
        reason = _unscorable_reason(obs)
        if reason is not None:
            return {
                "faithfulness": Score.unscorable(reason),
                "hallucination": Score.unscorable(reason),
            }
        contexts = [c for c in obs.contexts or () if c.text.strip()]
        return await asyncio.get_running_loop().run_in_executor(
            _JUDGING, _offline, obs.answer or "", contexts, case.question, threshold
        )

    return score
