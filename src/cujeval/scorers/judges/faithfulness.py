"""``llm_faithfulness``: ragas Faithfulness over the LLM judge, beside the offline
``faithfulness`` scorer (SLIs of its own, so a journey can run both and report how often they
agree: :mod:`cujeval.scorers.judges.agreement`).

    llm_faithfulness  = supported claims / claims      (ragas: claims from the answer, each
                                                        checked against the joined contexts)
    llm_hallucination = llm_faithfulness < 1 or any claim judged unsupported

With K epochs: ``llm_faithfulness`` is the mean over the epochs that produced a value,
``llm_hallucination`` the majority verdict (a tie counts as a hallucination) and
``judge_agreement`` the share of epochs agreeing with that majority.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.base import Score, Scorer, Scores, scorer
from cujeval.scorers.judges import epochs
from cujeval.scorers.judges.judgement import (
    JUDGE_SLIS,
    Judge,
    clip,
    context_texts,
    missing_input,
)
from cujeval.spec.judge import JudgeConfig, PriceTable
from cujeval.spec.records import GoldenCase, Observation

SLIS = ("llm_faithfulness", "llm_hallucination")
_MAX_CLAIMS = 50


@scorer(
    "llm_faithfulness",
    description="faithfulness and hallucination judged by an LLM (ragas Faithfulness)",
    needs=("answer", "contexts"),
    outputs=(*SLIS, *JUDGE_SLIS),
    shared=JUDGE_SLIS,
    context=("judge", "prices"),
)
def llm_faithfulness(
    *, judge: Mapping[str, Any] | JudgeConfig | None = None, prices: PriceTable | None = None
) -> Scorer:
    """Claims of the answer supported by the retrieved contexts, judged by the suite's judge."""
    link = Judge(judge, prices, name="llm_faithfulness")
    config = link.config

    async def run(case: GoldenCase, obs: Observation) -> Scores:
        reason = missing_input(obs, case.question)
        if reason is not None:
            return link.unscorable(SLIS, reason, case.id, obs)
        answer = obs.answer or ""
        contexts = context_texts(obs)

        async def evaluate(llm: Any) -> tuple[float, dict[str, Any]]:
            from ragas.metrics.collections.faithfulness import Faithfulness

            result = await Faithfulness(llm=llm).ascore(
                user_input=case.question, response=answer, retrieved_contexts=contexts
            )
            claims = _claims(llm.records)
            return float(result.value), {"claims": claims}

        judged = await link.run(evaluate)
        verdicts = [
            o.value < 1.0 or any(not c["supported"] for c in o.detail.get("claims", []))
            for o in judged.outcomes
            if o.value is not None
        ]
        if not verdicts:
            return link.failed(SLIS, judged, case.id, obs)
        meta = link.metadata(judged)
        faithfulness = epochs.mean(judged.values)
        hallucinated = epochs.majority(verdicts)
        claims = next(o.detail["claims"] for o in judged.outcomes if o.value is not None)
        unsupported = [c["claim"] for c in claims if not c["supported"]]
        explanation = f"{len(claims) - len(unsupported)} of {len(claims)} claims supported"
        if unsupported:
            explanation += "; unsupported: " + " | ".join(clip(c, 120) for c in unsupported[:3])
        agreement = epochs.verdict_agreement(verdicts) if config.epochs > 1 else None
        out = {
            "llm_faithfulness": Score(faithfulness, explanation, {**meta, "claims": claims}),
            "llm_hallucination": Score(hallucinated, explanation, meta),
        }
        out.update(link.totals(case.id, obs, judged, agreement))
        return out

    return run


def _claims(records: list[Any]) -> list[dict[str, Any]]:
    """Claims with their verdicts from the NLI answer of one epoch (empty if none came)."""
    from ragas.metrics.collections.faithfulness.util import NLIStatementOutput

    for record in reversed(records):
        if isinstance(record, NLIStatementOutput):
            return [
                {
                    "claim": clip(s.statement),
                    "supported": bool(s.verdict),
                    "reason": clip(s.reason),
                }
                for s in record.statements[:_MAX_CLAIMS]
            ]
    return []
