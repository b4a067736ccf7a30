"""Judge scorers end to end against a scripted OpenAI-compatible judge on 127.0.0.1.

The scripted judge answers with exact claims and verdicts, so the SLI arithmetic (faithfulness,
hallucination, epochs, agreement, cost) is checked against known values; ragas and instructor
run for real in between.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tests.judge_server import FakeJudge

from cujeval.scorers import base as registry
from cujeval.scorers.base import Scores
from cujeval.spec.records import Context, GoldenCase, Observation, Usage

CASE = GoldenCase(
    id="paris",
    input="Where is Paris?",
    reference="Paris is the capital of France.",
)
OBS = Observation(
    answer="Paris is in France. It is big.",
    contexts=(
        Context(id="d1", text="Paris is the capital and largest city of France.", rank=1),
        Context(id="d2", text="Lyon is a city in France.", rank=2),
    ),
    usage=Usage(prompt_tokens=10, completion_tokens=5),
)
PRICES = {"gemma": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
CALL_USD = (100 * 1.0 + 20 * 2.0) / 1_000_000  # one scripted reply: 100 in, 20 out


def judge_block(judge: FakeJudge, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": judge.base_url,
        "model": "gemma",
        "cache_dir": str(tmp_path / "judge-cache"),
        **extra,
    }


def score(
    name: str, options: dict[str, Any], case: GoldenCase = CASE, obs: Observation = OBS
) -> Scores:
    return asyncio.run(registry.create(name, options)(case, obs))


def test_faithful_answer(fake_judge: FakeJudge, tmp_path: Path) -> None:
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path)})
    assert scores["llm_faithfulness"].value == 1.0
    assert scores["llm_hallucination"].value is False
    claims = scores["llm_faithfulness"].metadata["claims"]
    assert [c["claim"] for c in claims] == fake_judge.claims
    assert scores["llm_faithfulness"].metadata["judge_calls"] == 2  # claims, then verdicts
    assert "judge_agreement" not in scores
    assert {fake_judge.schema_of(r) for r in fake_judge.requests} == {
        "StatementGeneratorOutput",
        "NLIStatementOutput",
    }


def test_unsupported_claim_is_a_hallucination(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.nli_verdicts = [[1, 0]]
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path)})
    assert scores["llm_faithfulness"].value == 0.5
    assert scores["llm_hallucination"].value is True
    assert "It is big." in scores["llm_hallucination"].explanation


def test_epochs_average_and_report_agreement(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.nli_verdicts = [[1, 1], [1, 0], [1, 1]]
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path, epochs=3)})
    assert scores["llm_faithfulness"].value == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert sorted(scores["llm_faithfulness"].metadata["epoch_values"]) == [0.5, 1.0, 1.0]
    assert scores["llm_hallucination"].value is False  # 2 of 3 epochs found none
    assert scores["judge_agreement"].value == pytest.approx(2 / 3)
    assert len(fake_judge.requests) == 6  # each epoch judged, not served from another's cache


def test_judge_cost_is_the_cases_judge_spend(fake_judge: FakeJudge, tmp_path: Path) -> None:
    options = {"judge": judge_block(fake_judge, tmp_path), "prices": PRICES}
    scores = score("llm_faithfulness", options)
    assert scores["judge_cost_usd"].value == pytest.approx(2 * CALL_USD)
    rerun = score("llm_faithfulness", options, obs=OBS.model_copy())
    assert rerun["judge_cost_usd"].value == 0.0  # all from the cache: nothing paid twice
    assert rerun["llm_faithfulness"].metadata["judge_cache_hits"] == 2
    assert len(fake_judge.requests) == 2


def test_unpriced_judge_cost_is_none(fake_judge: FakeJudge, tmp_path: Path) -> None:
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path)})
    assert scores["judge_cost_usd"].value is None
    assert "no price" in scores["judge_cost_usd"].explanation


def test_several_judge_scorers_sum_their_spend(fake_judge: FakeJudge, tmp_path: Path) -> None:
    options = {"judge": judge_block(fake_judge, tmp_path), "prices": PRICES}
    faithfulness = registry.create("llm_faithfulness", options)
    recall = registry.create("context_recall", options)

    async def both() -> Scores:
        scores: Scores = {}
        scores.update(await faithfulness(CASE, OBS))
        scores.update(await recall(CASE, OBS))
        return scores

    scores = asyncio.run(both())
    assert scores["judge_cost_usd"].value == pytest.approx(3 * CALL_USD)


def test_key_comes_from_the_environment_and_stays_out_of_scores(
    fake_judge: FakeJudge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-judge-5e1f9c"
    monkeypatch.setenv("CUJEVAL_TEST_JUDGE_KEY", secret)
    block = judge_block(fake_judge, tmp_path, api_key_env="CUJEVAL_TEST_JUDGE_KEY")
    scores = score("llm_faithfulness", {"judge": block})
    assert set(fake_judge.authorizations) == {f"Bearer {secret}"}
    dumped = json.dumps({k: s.to_dict() for k, s in scores.items()})
    assert secret not in dumped
    assert "CUJEVAL_TEST_JUDGE_KEY" not in dumped


@pytest.mark.parametrize(
    ("obs", "reason"),
    [
        (OBS.model_copy(update={"contexts": ()}), "no contexts"),
        (OBS.model_copy(update={"answer": " "}), "no answer"),
        (Observation(status="timeout", error="timed out"), "target call failed"),
    ],
)
def test_unscorable_without_answer_or_contexts(
    fake_judge: FakeJudge, tmp_path: Path, obs: Observation, reason: str
) -> None:
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path)}, obs=obs)
    for name in ("llm_faithfulness", "llm_hallucination"):
        assert scores[name].value is None
        assert reason in scores[name].explanation
    assert scores["judge_cost_usd"].value is None
    assert fake_judge.requests == []


def test_a_failing_judge_leaves_the_case_unscorable(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.faults = [(400, None)]
    scores = score("llm_faithfulness", {"judge": judge_block(fake_judge, tmp_path)})
    assert scores["llm_faithfulness"].value is None
    assert "HTTP 400" in scores["llm_faithfulness"].explanation
    assert scores["llm_faithfulness"].metadata["judge_errors"]
    assert scores["llm_faithfulness"].metadata["scorer_error"] is True  # counted by the gate


def test_context_recall_and_precision(fake_judge: FakeJudge, tmp_path: Path) -> None:
    options = {"judge": judge_block(fake_judge, tmp_path)}
    recall = score("context_recall", options)
    assert recall["context_recall"].value == 0.5
    assert [s["attributed"] for s in recall["context_recall"].metadata["statements"]] == [
        True,
        False,
    ]
    precision = score("context_precision", options)
    assert precision["context_precision"].value == pytest.approx(1.0)
    assert precision["context_precision"].metadata["useful"] == [True, True]


def test_context_metrics_need_a_reference(fake_judge: FakeJudge, tmp_path: Path) -> None:
    options = {"judge": judge_block(fake_judge, tmp_path)}
    bare = CASE.model_copy(update={"reference": None})
    assert score("context_precision", options, case=bare)["context_precision"].value is None
    assert score("context_recall", options, case=bare)["context_recall"].value is None
    assert fake_judge.requests == []
    with_contexts = bare.model_copy(update={"reference_contexts": ("Paris is in France.",)})
    assert score("context_recall", options, case=with_contexts)["context_recall"].value == 0.5


@pytest.mark.slow
def test_answer_relevancy_uses_offline_embeddings(fake_judge: FakeJudge, tmp_path: Path) -> None:
    scores = score(
        "answer_relevancy", {"judge": judge_block(fake_judge, tmp_path), "strictness": 2}
    )
    # the scripted judge asks back exactly the case's question: cosine 1 with MiniLM
    assert scores["answer_relevancy"].value == pytest.approx(1.0, abs=1e-4)
    assert len(scores["answer_relevancy"].metadata["generated_questions"]) == 2


def test_answer_relevancy_rejects_a_bad_strictness(fake_judge: FakeJudge, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="strictness"):
        registry.create(
            "answer_relevancy", {"judge": judge_block(fake_judge, tmp_path), "strictness": 0}
        )
