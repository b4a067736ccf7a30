"""Answer-vs-reference similarity: embedding cosine and SQuAD token F1."""

from __future__ import annotations

import asyncio
import re
import string
from collections import Counter

from cujeval.scorers.base import Score, Scorer, scorer, single
from cujeval.spec.records import GoldenCase, Observation

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_NEEDS = ("answer", "reference")


def normalize_answer(text: str) -> list[str]:
    """SQuAD normalisation: lowercase, drop punctuation, drop articles a/an/the, split on
    whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1_score(prediction: str, reference: str) -> float:
    """SQuAD token F1 over normalised tokens: with c = |multiset overlap|,
    P = c / |pred|, R = c / |ref|, F1 = 2PR / (P + R); 0.0 when c = 0.

    If either side normalises to no tokens, 1.0 when both do, else 0.0 (SQuAD v2 rule).
    """
    pred, ref = normalize_answer(prediction), normalize_answer(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _unscorable_reason(case: GoldenCase, obs: Observation) -> str | None:
    if obs.empty and case.reference and case.reference.strip():
        return None  # an empty answer is scored: it matches nothing of the reference
    if not obs.ok:
        return f"target error ({obs.status})"
    if not obs.answer or not obs.answer.strip():
        return "the target returned no answer"
    if not case.reference or not case.reference.strip():
        return "the golden case has no reference answer"
    return None


def _cosine(answer: str, reference: str) -> float:
    from cujeval.models.embeddings import encode

    vectors = encode([answer, reference])
    return max(-1.0, min(1.0, float(vectors[0] @ vectors[1])))


@scorer("answer_similarity", needs=_NEEDS)
def answer_similarity() -> Scorer:
    """Cosine similarity of answer and reference embeddings (all-MiniLM-L6-v2), in [-1, 1]."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason = _unscorable_reason(case, obs)
        if reason is not None:
            return Score.unscorable(reason)
        if obs.empty:
            return Score(value=0.0, explanation="empty answer: nothing of the reference")
        answer, reference = obs.answer or "", case.reference or ""
        return Score(value=await asyncio.to_thread(_cosine, answer, reference))

    return single("answer_similarity", score)


@scorer("token_f1", needs=_NEEDS)
def token_f1() -> Scorer:
    """SQuAD-style token F1 between answer and reference, in [0, 1]."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason = _unscorable_reason(case, obs)
        if reason is not None:
            return Score.unscorable(reason)
        return Score(value=token_f1_score(obs.answer or "", case.reference or ""))

    return single("token_f1", score)
