"""The optional LLM judge: any OpenAI-compatible server, with ragas metrics behind it.

Scorers registered here: ``llm_faithfulness`` (SLIs ``llm_faithfulness`` and
``llm_hallucination``, beside the offline scorer's), ``answer_relevancy``,
``context_precision``, ``context_recall``, and ``rubric`` (a criterion in words:
``rubric:NAME`` and ``rubric:NAME:score``). Each takes the suite's ``judge:`` block as its
``judge`` option and also emits ``judge_cost_usd`` (and ``judge_agreement`` with epochs > 1).
Nothing heavy is imported until a case is judged.
"""

from cujeval.scorers.judges import faithfulness, ragas_metrics, rubric
from cujeval.scorers.judges.client import ClientStats, JudgeClient, shared_client
from cujeval.scorers.judges.failures import JudgeCallFailed
from cujeval.spec.judge import JudgeConfig

__all__ = [
    "ClientStats",
    "JudgeCallFailed",
    "JudgeClient",
    "JudgeConfig",
    "faithfulness",
    "ragas_metrics",
    "rubric",
    "shared_client",
]
