"""ragas answer and retrieval metrics over the LLM judge, each an SLI in [0, 1].

    answer_relevancy  = mean cosine(question, q_i) over ``strictness`` questions q_i the judge
                        writes back from the answer; 0 when every q_i is flagged noncommittal
                        (embeddings: the offline MiniLM)
    context_precision = sum_k (precision@k * v_k) / sum_k v_k, v_k the judge's verdict that the
                        k-th retrieved context helps reach the reference answer
    context_recall    = reference statements attributable to the retrieved contexts /
                        reference statements (the reference answer, else the case's
                        ``reference_contexts`` joined)

Values are clipped to [0, 1] (a negative cosine counts as 0). With K epochs the value is the
mean over the epochs that produced one and ``judge_agreement`` is ``1 - (max - min)`` of the
epoch values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cujeval.scorers.base import Score, Scorer, Scores, scorer
from cujeval.scorers.judges import epochs
from cujeval.scorers.judges.judgement import (
    JUDGE_SLIS,
    Evaluate,
    Judge,
    Judged,
    clip,
    context_texts,
    missing_input,
)
from cujeval.scorers.judges.ragas_bridge import minilm_embeddings
from cujeval.spec.judge import JudgeConfig, PriceTable
from cujeval.spec.records import GoldenCase, Observation

JudgeOption = Mapping[str, Any] | JudgeConfig | None
Prepare = Callable[[GoldenCase, Observation], Evaluate | str]


@scorer(
    "answer_relevancy",
    description="how well the answer addresses the question (ragas AnswerRelevancy, LLM judge)",
    needs=("answer",),
    outputs=("{name}", *JUDGE_SLIS),
    shared=JUDGE_SLIS,
    context=("judge", "prices"),
)
def answer_relevancy(
    *, judge: JudgeOption = None, prices: PriceTable | None = None, strictness: int = 3
) -> Scorer:
    """Questions the judge infers from the answer, compared with the asked one (MiniLM)."""
    if isinstance(strictness, bool) or not isinstance(strictness, int) or strictness < 1:
        raise ValueError(f"strictness must be an integer >= 1, got {strictness!r}")
    link = Judge(judge, prices, name="answer_relevancy")

    def prepare(case: GoldenCase, obs: Observation) -> Evaluate | str:
        reason = missing_input(obs, case.question, contexts=False)
        if reason is not None:
            return reason
        answer = obs.answer or ""

        async def evaluate(llm: Any) -> tuple[float, dict[str, Any]]:
            from ragas.metrics.collections.answer_relevancy import AnswerRelevancy

            metric = AnswerRelevancy(llm=llm, embeddings=minilm_embeddings(), strictness=strictness)
            result = await metric.ascore(user_input=case.question, response=answer)
            questions = [
                {"question": clip(r.question), "noncommittal": bool(r.noncommittal)}
                for r in llm.records
            ]
            return float(result.value), {"generated_questions": questions}

        return evaluate

    return _metric_scorer("answer_relevancy", link, prepare)


@scorer(
    "context_precision",
    description="are the useful contexts ranked first (ragas ContextPrecision, LLM judge)",
    needs=("reference", "contexts"),
    outputs=("{name}", *JUDGE_SLIS),
    shared=JUDGE_SLIS,
    context=("judge", "prices"),
)
def context_precision(*, judge: JudgeOption = None, prices: PriceTable | None = None) -> Scorer:
    """Average precision of the retrieved contexts, usefulness judged against the reference."""
    link = Judge(judge, prices, name="context_precision")

    def prepare(case: GoldenCase, obs: Observation) -> Evaluate | str:
        reason = missing_input(obs, case.question, answer=False)
        if reason is not None:
            return reason
        if not (case.reference or "").strip():
            return "the case has no reference answer"
        reference = case.reference or ""
        contexts = context_texts(obs)

        async def evaluate(llm: Any) -> tuple[float, dict[str, Any]]:
            from ragas.metrics.collections.context_precision import ContextPrecision

            result = await ContextPrecision(llm=llm).ascore(
                user_input=case.question, reference=reference, retrieved_contexts=contexts
            )
            verdicts = [bool(r.verdict) for r in llm.records]
            return float(result.value), {"useful": verdicts}

        return evaluate

    return _metric_scorer("context_precision", link, prepare)


@scorer(
    "context_recall",
    description="share of the reference supported by the contexts (ragas ContextRecall, LLM)",
    needs=("reference", "contexts"),
    outputs=("{name}", *JUDGE_SLIS),
    shared=JUDGE_SLIS,
    context=("judge", "prices"),
)
def context_recall(*, judge: JudgeOption = None, prices: PriceTable | None = None) -> Scorer:
    """Reference statements attributable to the retrieved contexts, judged by the LLM."""
    link = Judge(judge, prices, name="context_recall")

    def prepare(case: GoldenCase, obs: Observation) -> Evaluate | str:
        reason = missing_input(obs, case.question, answer=False)
        if reason is not None:
            return reason
        reference = (case.reference or "").strip() or "\n".join(case.reference_contexts or ())
        if not reference.strip():
            return "the case has neither a reference answer nor reference_contexts"
        contexts = context_texts(obs)

        async def evaluate(llm: Any) -> tuple[float, dict[str, Any]]:
            from ragas.metrics.collections.context_recall import ContextRecall

            result = await ContextRecall(llm=llm).ascore(
                user_input=case.question, retrieved_contexts=contexts, reference=reference
            )
            statements = [
                {"statement": clip(c.statement), "attributed": bool(c.attributed)}
                for r in llm.records
                for c in r.classifications
            ]
            return float(result.value), {"statements": statements}

        return evaluate

    return _metric_scorer("context_recall", link, prepare)


def _metric_scorer(sli: str, link: Judge, prepare: Prepare) -> Scorer:
    """A Scorer emitting ``sli`` (mean over epochs) plus the judge's cost and agreement."""

    async def run(case: GoldenCase, obs: Observation) -> Scores:
        evaluate = prepare(case, obs)
        if isinstance(evaluate, str):
            return link.unscorable((sli,), evaluate, case.id, obs)
        judged = await link.run(evaluate)
        return _scores(sli, link, judged, case, obs)

    return run


def _scores(sli: str, link: Judge, judged: Judged, case: GoldenCase, obs: Observation) -> Scores:
    values = judged.values
    if not values:
        return link.failed((sli,), judged, case.id, obs)
    detail = next(o.detail for o in judged.outcomes if o.value is not None)
    value = epochs.mean(values)
    agreement = epochs.spread_agreement(values) if link.config.epochs > 1 else None
    explanation = f"{sli} {value:.3f} by {link.config.model}"
    out: Scores = {sli: Score(value, explanation, {**link.metadata(judged), **detail})}
    out.update(link.totals(case.id, obs, judged, agreement))
    return out
