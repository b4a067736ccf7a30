"""JudgeClient against a real local HTTP server: retries, cache, key handling, counters."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tests.judge_server import FakeJudge

from cujeval.errors import RunAborted
from cujeval.scorers.judges import JudgeCallFailed, JudgeClient, JudgeConfig
from cujeval.scorers.judges.ledger import Ledger

MESSAGES = [{"role": "user", "content": "Say ok."}]


def client_for(judge: FakeJudge, tmp_path: Path | None, **settings: Any) -> JudgeClient:
    config = JudgeConfig(
        base_url=judge.base_url,
        model="gemma",
        cache_dir=str(tmp_path / "cache") if tmp_path else None,
        **settings,
    )
    return JudgeClient(config, backoff_s=0.01, max_backoff_s=0.05, seed=1)


def ask(client: JudgeClient, *, epoch: int = 0, ledger: Ledger | None = None) -> str:
    async def go() -> str:
        completion = await client.create(
            {"model": "gemma", "messages": MESSAGES, "temperature": 0.0},
            epoch=epoch,
            ledger=ledger,
        )
        await client.aclose()
        return completion.choices[0].message.content or ""

    return asyncio.run(go())


def test_retries_a_real_503_then_answers(fake_judge: FakeJudge) -> None:
    fake_judge.faults = [(503, None), (503, None)]
    client = client_for(fake_judge, None, max_retries=3)
    ledger = Ledger()
    assert ask(client, ledger=ledger) == '{"text": "ok"}'
    assert len(fake_judge.requests) == 3
    assert (client.stats.requests, client.stats.retries, client.stats.answered) == (3, 2, 1)
    assert ledger.retries == 2 and ledger.calls == 1
    assert (ledger.prompt_tokens, ledger.completion_tokens) == (100, 20)


def test_honours_retry_after_on_429(fake_judge: FakeJudge) -> None:
    fake_judge.faults = [(429, "0")]
    client = client_for(fake_judge, None)
    ask(client)
    assert len(fake_judge.requests) == 2


def test_gives_up_after_max_retries(fake_judge: FakeJudge) -> None:
    fake_judge.faults = [(503, None)] * 5
    client = client_for(fake_judge, None, max_retries=1)
    with pytest.raises(JudgeCallFailed, match="after 2 attempts: HTTP 503"):
        ask(client)
    assert len(fake_judge.requests) == 2
    assert client.stats.failures == 1
    assert client.stats.retries == 1  # two attempts: one retry (the last failure is not one)


def test_client_errors_are_not_retried(fake_judge: FakeJudge) -> None:
    fake_judge.faults = [(400, None)]
    client = client_for(fake_judge, None)
    with pytest.raises(JudgeCallFailed, match="HTTP 400"):
        ask(client)
    assert len(fake_judge.requests) == 1


def test_refused_authorisation_aborts_the_run(fake_judge: FakeJudge) -> None:
    fake_judge.faults = [(401, None)]
    with pytest.raises(RunAborted, match="refused authorisation"):
        ask(client_for(fake_judge, None))
    assert len(fake_judge.requests) == 1


def test_cache_answers_a_rerun_without_a_request(fake_judge: FakeJudge, tmp_path: Path) -> None:
    first = ask(client_for(fake_judge, tmp_path))
    again = client_for(fake_judge, tmp_path)  # a new process would start like this
    ledger = Ledger()
    assert ask(again, ledger=ledger) == first
    assert len(fake_judge.requests) == 1
    assert again.stats.requests == 0 and again.stats.cache_hits == 1
    assert ledger.cache_hits == 1 and ledger.calls == 0 and ledger.prompt_tokens == 0


def test_cache_key_includes_the_epoch(fake_judge: FakeJudge, tmp_path: Path) -> None:
    client = client_for(fake_judge, tmp_path)
    ask(client, epoch=0)
    ask(client, epoch=1)
    ask(client, epoch=1)
    assert len(fake_judge.requests) == 2


def test_key_is_read_from_the_named_variable(
    fake_judge: FakeJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUJEVAL_TEST_JUDGE_KEY", "sk-test-7f3a")
    ask(client_for(fake_judge, None, api_key_env="CUJEVAL_TEST_JUDGE_KEY"))
    assert fake_judge.authorizations == ["Bearer sk-test-7f3a"]


def test_missing_key_variable_at_call_time_aborts(
    fake_judge: FakeJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUJEVAL_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(RunAborted, match="CUJEVAL_TEST_JUDGE_KEY"):
        ask(client_for(fake_judge, None, api_key_env="CUJEVAL_TEST_JUDGE_KEY"))
    assert fake_judge.requests == []


def test_concurrency_is_bounded_per_client(fake_judge: FakeJudge) -> None:
    fake_judge.delay_s = 0.2
    client = client_for(fake_judge, None, max_concurrency=2)

    async def go() -> None:
        await asyncio.gather(
            *(
                client.create({"model": "gemma", "messages": [{"role": "user", "content": str(i)}]})
                for i in range(6)
            )
        )
        await client.aclose()

    asyncio.run(go())
    assert len(fake_judge.requests) == 6
    assert fake_judge.peak_in_flight == 2


def test_one_client_serves_several_event_loops(fake_judge: FakeJudge) -> None:
    client = client_for(fake_judge, None)
    for i in range(2):
        asyncio.run(
            client.create({"model": "gemma", "messages": [{"role": "user", "content": str(i)}]})
        )
    assert client.stats.answered == 2
