"""Injected faults, each on its own real HTTP server (in-process, sharing one index)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from reference_http import chat_body, cited_sentences, post_json, post_stream

QUESTIONS = [
    "How much does the Plus plan cost per member?",
    "How long is a magic link valid?",
    "What does error SSO-104 mean?",
    "How many automation runs do we get on Business per month?",
    "Can we store our data in the EU?",
    "How do I create a task from Slack?",
    "What's the API rate limit?",
    "Is my data encrypted?",
    "How long are invite links valid?",
    "How deep can subtasks go?",
    "What time is the daily email digest sent?",
    "Do you support GitLab?",
]

Serve = Callable[..., str]


def test_error_rate_one_fails_every_request_with_a_json_500(serve: Serve) -> None:
    url = serve(error_rate=1.0)
    for question in QUESTIONS[:4]:
        status, body = post_json(f"{url}/answer", {"question": question})
        assert status == 500
        assert body["error"]["code"] == "injected_fault"
        assert post_json(f"{url}/v1/chat/completions", chat_body(question))[0] == 500
        status, events = post_stream(f"{url}/v1/chat/completions", chat_body(question, stream=True))
        assert status == 500
        assert json.loads(events[0])["error"]["type"] == "server_error"


def test_hallucination_rate_one_adds_a_cited_sentence_found_in_no_context(serve: Serve) -> None:
    url = serve(hallucination_rate=1.0)
    for question in QUESTIONS:
        _, body = post_json(f"{url}/answer", {"question": question})
        context_texts = [c["text"] for c in body["contexts"]]
        returned = {c["id"] for c in body["contexts"]}
        pieces = cited_sentences(body["answer"])
        unsupported = [s for s, _ in pieces if not any(s in text for text in context_texts)]
        assert len(unsupported) == 1, body["answer"]
        assert all(article_id in returned for _, article_id in pieces)


def test_drop_contexts_one_returns_no_contexts_on_every_route(serve: Serve) -> None:
    url = serve(drop_contexts=1.0)
    question = QUESTIONS[0]
    _, body = post_json(f"{url}/answer", {"question": question})
    assert body["contexts"] == []
    assert "[kb-" in body["answer"]
    _, body = post_json(f"{url}/v1/chat/completions", chat_body(question))
    assert body["contexts"] == []
    _, events = post_stream(f"{url}/v1/chat/completions", chat_body(question, stream=True))
    assert json.loads(events[-2])["contexts"] == []


def outcomes(url: str, questions: list[str]) -> dict[str, int]:
    return {q: post_json(f"{url}/answer", {"question": q})[0] for q in questions}


def test_fault_decisions_depend_on_seed_and_question_only(serve: Serve) -> None:
    first = outcomes(serve(error_rate=0.5, seed=1), QUESTIONS)
    again = outcomes(serve(error_rate=0.5, seed=1), list(reversed(QUESTIONS)))
    assert first == again
    assert set(first.values()) == {200, 500}
    other_seed = outcomes(serve(error_rate=0.5, seed=2), QUESTIONS)
    assert other_seed != first


def test_same_question_twice_gets_the_same_fault_on_both_routes(serve: Serve) -> None:
    url = serve(hallucination_rate=0.5, drop_contexts=0.5, seed=3)
    for question in QUESTIONS[:6]:
        a = post_json(f"{url}/answer", {"question": question})[1]
        b = post_json(f"{url}/answer", {"question": question})[1]
        chat = post_json(f"{url}/v1/chat/completions", chat_body(question))[1]
        assert a["answer"] == b["answer"] == chat["choices"][0]["message"]["content"]
        assert a["contexts"] == b["contexts"] == chat["contexts"]


@pytest.mark.parametrize("route", ["/answer", "/v1/chat/completions", "stream"])
def test_latency_is_awaited_before_answering(
    serve: Serve, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from cujeval.reference import rag

    url = serve(latency_ms=40.0)
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(rag.asyncio, "sleep", recording_sleep)
    question = QUESTIONS[1]
    if route == "stream":
        status, _ = post_stream(f"{url}/v1/chat/completions", chat_body(question, stream=True))
    elif route == "/answer":
        status, _ = post_json(f"{url}/answer", {"question": question})
    else:
        status, _ = post_json(f"{url}{route}", chat_body(question))
    assert status == 200
    assert 0.04 in slept
