"""Failed judgements by reason, and what the cache keeps, against a scripted judge over HTTP.

The scripted judge cuts answers at the request's max_tokens (finish_reason "length") in
``max_tokens`` mode, answers prose in ``bad_json`` mode, and can be slow, refuse or fail:
each failure gets its reason and a message naming the cause, and only whole answers that
parsed are cached.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tests.judge_server import FakeJudge

from cujeval.errors import JudgeUnavailable
from cujeval.scorers import base as registry
from cujeval.scorers.base import Scores
from cujeval.scorers.judges import JudgeClient, JudgeConfig, shared_client
from cujeval.scorers.judges import cache as judge_cache
from cujeval.scorers.judges.cache import request_key
from cujeval.scorers.judges.failures import REASONS, classify, complete
from cujeval.spec.records import Context, GoldenCase, Observation

CASE = GoldenCase(id="paris", input="Where is Paris?")
OBS = Observation(
    answer="Paris is in France. It is big.",
    contexts=(Context(id="d1", text="Paris is the capital of France.", rank=1),),
)
CUT = "judge output cut at max_tokens={}; raise judge.max_tokens or use a larger model"


def block(judge: FakeJudge, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": judge.base_url,
        "model": "gemma",
        "cache_dir": str(tmp_path / "cache"),
        "max_retries": 0,
        **extra,
    }


def faithfulness(options: dict[str, Any], obs: Observation = OBS) -> Scores:
    return asyncio.run(registry.create("llm_faithfulness", {"judge": options})(CASE, obs))


def requests_of(judge: FakeJudge) -> int:
    return len(judge.requests)


def test_an_answer_cut_at_max_tokens_is_a_max_tokens_failure_and_not_cached(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    fake_judge.mode = "max_tokens"
    options = block(fake_judge, tmp_path, max_tokens=8)
    scores = faithfulness(options)
    score = scores["llm_faithfulness"]
    assert score.value is None
    assert score.metadata["scorer_error"] is True  # the gate counts it
    assert score.metadata["judge_failures"] == {"max_tokens": 1}
    assert score.metadata["judge_causes"]["max_tokens"] == CUT.format(8)
    assert CUT.format(8) in score.explanation
    assert score.metadata["judge_calls"] == 1  # not retried: it would be cut again
    assert score.metadata["judge_completion_tokens"] == 8  # a cut answer still costs tokens
    assert all(r["max_tokens"] == 8 for r in fake_judge.requests)

    sent = requests_of(fake_judge)
    again = faithfulness(options, OBS.model_copy())
    assert requests_of(fake_judge) == sent + 1  # asked again: the cut answer was not stored
    assert again["llm_faithfulness"].metadata["judge_cache_hits"] == 0


def test_a_large_enough_max_tokens_is_answered_and_cached(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    fake_judge.mode = "max_tokens"
    options = block(fake_judge, tmp_path, max_tokens=1024)
    scores = faithfulness(options)
    assert scores["llm_faithfulness"].value == 1.0
    assert "judge_failures" not in scores["llm_faithfulness"].metadata
    sent = requests_of(fake_judge)
    again = faithfulness(options, OBS.model_copy())
    assert requests_of(fake_judge) == sent  # both answers came from the cache
    assert again["llm_faithfulness"].metadata["judge_cache_hits"] == 2
    assert again["llm_faithfulness"].value == 1.0


def test_prose_instead_of_json_is_bad_json_and_not_cached(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    fake_judge.mode = "bad_json"
    options = block(fake_judge, tmp_path)
    score = faithfulness(options)["llm_faithfulness"]
    assert score.value is None
    assert score.metadata["judge_failures"] == {"bad_json": 1}
    assert "did not parse as the expected JSON" in score.metadata["judge_causes"]["bad_json"]
    sent = requests_of(fake_judge)
    assert sent == 2  # instructor re-asked once (SCHEMA_ATTEMPTS = 2), then gave up
    faithfulness(options, OBS.model_copy())
    assert requests_of(fake_judge) == 2 * sent  # nothing unparsed was served from the cache
    stats = shared_client(JudgeConfig.from_mapping(options)).stats
    assert stats.stored == 0 and stats.not_stored >= sent


def test_a_judge_slower_than_its_timeout_fails_the_judgement_not_the_run(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    fake_judge.delay_s = 1.0
    score = faithfulness(block(fake_judge, tmp_path, timeout_s=0.2))["llm_faithfulness"]
    assert score.value is None
    assert score.metadata["judge_failures"] == {"timeout": 1}
    assert "judge.timeout_s=0.2" in score.metadata["judge_causes"]["timeout"]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [((400, None), "refused"), ((422, None), "refused"), ((503, None), "server_error")],
)
def test_http_refusals_and_server_errors(
    fake_judge: FakeJudge, tmp_path: Path, fault: tuple[int, str | None], reason: str
) -> None:
    fake_judge.faults = [fault]
    score = faithfulness(block(fake_judge, tmp_path))["llm_faithfulness"]
    assert score.metadata["judge_failures"] == {reason: 1}
    assert f"HTTP {fault[0]}" in score.metadata["judge_causes"][reason]


def test_a_missing_route_still_ends_the_run(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.faults = [(404, None)]
    with pytest.raises(JudgeUnavailable, match="no such route"):
        faithfulness(block(fake_judge, tmp_path))


def test_a_failed_epoch_is_counted_beside_the_ones_that_answered(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    fake_judge.faults = [(400, None)]  # the first request of one epoch is refused
    score = faithfulness(block(fake_judge, tmp_path, epochs=2))["llm_faithfulness"]
    assert score.value == 1.0  # the other epoch judged
    assert score.metadata["judge_failures"] == {"refused": 1}
    assert score.metadata["epoch_values"].count(None) == 1


def test_the_cache_key_holds_model_template_version_and_settings() -> None:
    request = {"model": "gemma", "messages": [{"role": "user", "content": "q"}]}
    key = request_key(request, epoch=0, repeat=0, temperature=0.0, max_tokens=1024)
    assert key == request_key(dict(request), epoch=0, repeat=0, temperature=0.0, max_tokens=1024)
    changed = [
        request_key({**request, "model": "other"}, epoch=0, repeat=0, max_tokens=1024),
        request_key(request, epoch=0, repeat=0, temperature=0.7, max_tokens=1024),
        request_key(request, epoch=0, repeat=0, temperature=0.0, max_tokens=256),
        request_key({**request, "max_tokens": 256}, epoch=0, repeat=0, temperature=0.0),
        request_key(request, epoch=1, repeat=0, temperature=0.0, max_tokens=1024),
    ]
    assert key not in changed and len(set(changed)) == len(changed)
    assert judge_cache.template_version().startswith(f"cujeval-judge/{judge_cache.PROMPT_VERSION}")
    assert "ragas/" in judge_cache.template_version()


def test_a_new_template_version_misses_the_old_entries(
    fake_judge: FakeJudge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = block(fake_judge, tmp_path)
    faithfulness(options)
    sent = requests_of(fake_judge)
    monkeypatch.setattr(judge_cache, "template_version", lambda: "cujeval-judge/999")
    faithfulness(options, OBS.model_copy())
    assert requests_of(fake_judge) == 2 * sent


def test_the_client_caches_only_whole_answers(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.mode = "max_tokens"
    config = JudgeConfig(base_url=fake_judge.base_url, model="gemma", cache_dir=str(tmp_path))
    client = JudgeClient(config, backoff_s=0.01, seed=1)

    async def ask(max_tokens: int) -> Any:
        request = {"model": "gemma", "messages": [{"role": "user", "content": "Say ok."}]}
        completion = await client.create({**request, "max_tokens": max_tokens})
        return completion.choices[0].finish_reason

    async def go() -> list[Any]:
        out = [await ask(1), await ask(1), await ask(100), await ask(100)]
        await client.aclose()
        return out

    assert asyncio.run(go()) == ["length", "length", "stop", "stop"]
    assert len(fake_judge.requests) == 3  # the cut answer was asked for twice, the whole once
    assert (client.stats.stored, client.stats.not_stored, client.stats.cache_hits) == (1, 2, 1)


def test_classify_reads_finish_reasons_and_exception_types() -> None:
    from instructor.exceptions import IncompleteOutputException
    from openai.types.chat import ChatCompletion

    def completion(finish: str, content: str = "{}", refusal: str | None = None) -> Any:
        return ChatCompletion.model_validate(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                    }
                ],
            }
        )

    cut = IncompleteOutputException(last_completion=completion("length"))
    assert classify(cut, max_tokens=64) == ("max_tokens", CUT.format(64))
    filtered = RuntimeError("x")
    filtered.last_completion = completion("content_filter", "")  # type: ignore[attr-defined]
    assert classify(filtered, max_tokens=64)[0] == "refused"
    assert classify(ValueError("boom"), max_tokens=64) == ("other", "ValueError: boom")
    assert complete(completion("stop"))
    assert not complete(completion("length"))
    assert not complete(completion("stop", "  "))
    assert not complete(completion("stop", "{}", refusal="no"))
    assert set(REASONS) >= {"max_tokens", "bad_json", "timeout", "refused"}
