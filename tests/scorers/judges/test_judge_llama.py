"""The judge scorers against a real llama.cpp server (Gemma 3 270M base model).

The model's verdicts mean nothing; these tests check the plumbing with a real
OpenAI-compatible server: ragas + instructor in JSON-schema mode produce scorable values in
range, a re-run is served from the disk cache, epochs add an agreement. Each judged case costs
a few seconds to minutes on 2 shared cores, so there is one case.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cujeval.scorers import base as registry
from cujeval.scorers.base import Scores
from cujeval.scorers.judges import JudgeConfig, shared_client
from cujeval.spec.records import Context, GoldenCase, Observation

pytestmark = pytest.mark.slow

CASES = [
    (
        GoldenCase(
            id="tower",
            input="Where is the Eiffel Tower?",
            reference="The Eiffel Tower is in Paris.",
        ),
        Observation(
            answer="The Eiffel Tower is in Paris.",
            contexts=(Context(id="d1", text="The Eiffel Tower is a landmark in Paris, France."),),
        ),
    ),
]


@pytest.fixture(scope="module")
def judge_block(llama_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cache = tmp_path_factory.mktemp("judge-cache")
    return {"base_url": llama_server_url, "model": "gemma", "cache_dir": str(cache)}


def score_all(name: str, options: dict[str, Any], cases: list[Any]) -> list[Scores]:
    scorer = registry.create(name, options)

    async def run() -> list[Scores]:
        return [await scorer(case, obs) for case, obs in cases]

    return asyncio.run(run())


def requests_sent(block: dict[str, Any]) -> int:
    return shared_client(JudgeConfig.from_mapping(block)).stats.requests


def test_faithfulness_cache_and_epochs(judge_block: dict[str, Any]) -> None:
    first = score_all("llm_faithfulness", {"judge": judge_block}, CASES)
    for scores in first:
        assert 0.0 <= scores["llm_faithfulness"].value <= 1.0  # type: ignore[operator]
        assert isinstance(scores["llm_hallucination"].value, bool)
        assert scores["llm_faithfulness"].metadata["judge_calls"] >= 2
        assert scores["llm_faithfulness"].metadata["judge_prompt_tokens"] > 0
    sent = requests_sent(judge_block)
    assert sent >= 2  # the claims, then their verdicts

    again = score_all("llm_faithfulness", {"judge": judge_block}, CASES)
    assert requests_sent(judge_block) == sent  # nothing new reached the server
    for before, after in zip(first, again, strict=True):
        assert after["llm_faithfulness"].value == before["llm_faithfulness"].value
        assert after["llm_faithfulness"].metadata["judge_calls"] == 0
        assert after["llm_faithfulness"].metadata["judge_cache_hits"] >= 2

    two = {**judge_block, "epochs": 2}
    [scores] = score_all("llm_faithfulness", {"judge": two}, CASES)
    assert len(scores["llm_faithfulness"].metadata["epoch_values"]) == 2
    assert 0.0 <= scores["judge_agreement"].value <= 1.0  # type: ignore[operator]
    assert scores["judge_agreement"].value in (0.5, 1.0)  # share agreeing with the majority


def test_ragas_metrics_on_a_real_server(judge_block: dict[str, Any]) -> None:
    case, obs = CASES[0]
    for name, options in [
        ("answer_relevancy", {"strictness": 1}),
        ("context_precision", {}),
        ("context_recall", {}),
    ]:
        [scores] = score_all(name, {"judge": judge_block, **options}, [(case, obs)])
        value = scores[name].value
        assert value is not None, scores[name].explanation
        assert 0.0 <= value <= 1.0
        assert scores[name].metadata["judge_calls"] >= 1


def test_a_rubric_on_a_real_server(judge_block: dict[str, Any]) -> None:
    """Plumbing only: the small base model's verdicts mean nothing. Each rubric comes back as a
    verdict with the model's reason, or as a failure counted by reason (a base model often
    writes JSON that does not parse); a verdict is served from the cache the second time."""
    block = {**judge_block, "max_tokens": 256}
    options = {
        "name": "offers-refund",
        "criteria": "The answer tells the user where the Eiffel Tower is.",
        "scale": "1-5",
    }
    first = score_all("rubric", {"judge": block, **options}, CASES)[0]
    passed, score = first["rubric:offers-refund"], first["rubric:offers-refund:score"]
    meta = passed.metadata
    assert meta["judge_calls"] >= 1 and meta["judge_prompt_tokens"] > 0
    if passed.value is None:  # every attempt failed: counted, with its cause
        assert meta["scorer_error"] is True and set(meta["judge_failures"]) <= {
            "bad_json",
            "max_tokens",
        }
        return
    assert isinstance(passed.value, bool) and 1.0 <= score.value <= 5.0  # type: ignore[operator]
    assert passed.explanation.startswith(f"{score.value:g}/5 (")
    again = score_all("rubric", {"judge": block, **options}, CASES)[0]
    assert again["rubric:offers-refund"].value == passed.value
    assert again["rubric:offers-refund"].metadata["judge_calls"] == 0  # from the cache
