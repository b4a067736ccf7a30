"""The bundled RAG service over real HTTP, started by the launcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_http import chat_body, cited_sentences, get_json, post_json, post_stream

from cujeval.reference.launch import RunningService
from cujeval.spec.records import GoldenCase

REPO = Path(__file__).resolve().parents[2]

QUESTION = "How long do deleted pages stay in the trash?"


def golden_cases() -> list[GoldenCase]:
    cases = []
    for name in ("support_rag.jsonl", "support_rag_instructions.jsonl"):
        for line in (REPO / "datasets" / name).read_text().splitlines():
            cases.append(GoldenCase.model_validate_json(line))
    return cases


def corpus_texts() -> dict[str, str]:
    path = REPO / "datasets" / "helpcentre" / "articles.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {row["id"]: row["text"] for row in rows}


def test_health_counts_the_bundled_articles(service: RunningService) -> None:
    status, body = get_json(f"{service.url}/health")
    assert status == 200
    assert body == {"status": "ok", "articles": len(corpus_texts())}


def test_answer_returns_ranked_contexts_and_usage(service: RunningService) -> None:
    status, body = post_json(f"{service.url}/answer", {"question": QUESTION})
    assert status == 200
    assert body["model"] == "reference-extractive-1"
    contexts = body["contexts"]
    assert [c["rank"] for c in contexts] == [1, 2, 3, 4]
    assert contexts[0]["id"] == "kb-042"
    assert all(c["id"].startswith("kb-") and c["title"] and c["text"] for c in contexts)
    scores = [c["score"] for c in contexts]
    assert scores == sorted(scores, reverse=True)
    assert body["usage"]["prompt_tokens"] > body["usage"]["completion_tokens"] > 0
    assert "30 days" in body["answer"]


def test_top_k_is_honoured(service: RunningService) -> None:
    _, body = post_json(f"{service.url}/answer", {"question": QUESTION, "top_k": 2})
    assert [c["rank"] for c in body["contexts"]] == [1, 2]


def test_answers_are_cited_extracts_of_the_returned_contexts(service: RunningService) -> None:
    texts = corpus_texts()
    for case in golden_cases()[:40]:
        _, body = post_json(f"{service.url}/answer", {"question": case.question})
        returned = {c["id"] for c in body["contexts"]}
        pieces = cited_sentences(body["answer"])
        assert 2 <= len(pieces) <= 3, body["answer"]
        for sentence, article_id in pieces:
            assert article_id in returned, (case.id, article_id, returned)
            assert sentence in texts[article_id], (case.id, sentence)


def test_golden_cases_retrieve_a_relevant_article_in_the_top_4(
    service: RunningService, record_property: pytest.RecordProperty
) -> None:
    cases = golden_cases()
    hits = 0
    for case in cases:
        _, body = post_json(f"{service.url}/answer", {"question": case.question, "top_k": 4})
        hits += bool({c["id"] for c in body["contexts"]} & set(case.relevant_ids or ()))
    rate = hits / len(cases)
    record_property("top4_hit_rate", rate)
    assert rate >= 0.7, f"top-4 hit rate {rate:.3f} over {len(cases)} golden cases"


def test_bad_requests_are_rejected(service: RunningService) -> None:
    assert post_json(f"{service.url}/answer", {"question": ""})[0] == 422
    assert post_json(f"{service.url}/answer", {"question": "x", "top_k": 0})[0] == 422
    status, body = post_json(
        f"{service.url}/v1/chat/completions", {"messages": [{"role": "system", "content": "hi"}]}
    )
    assert status == 400
    assert body["error"]["code"] == "no_user"


def test_chat_completion_is_openai_shaped_with_contexts(service: RunningService) -> None:
    status, body = post_json(f"{service.url}/v1/chat/completions", chat_body(QUESTION))
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    _, plain = post_json(f"{service.url}/answer", {"question": QUESTION})
    assert choice["message"]["content"] == plain["answer"]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == plain["usage"]["completion_tokens"]
    assert [c["id"] for c in body["contexts"]] == [c["id"] for c in plain["contexts"]]


def test_chat_reads_the_last_user_turn_and_text_parts(service: RunningService) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    _, body = post_json(f"{service.url}/v1/chat/completions", {"messages": messages})
    assert body["contexts"][0]["id"] == "kb-042"


def test_streamed_chat_sends_several_chunks_then_usage_contexts_and_done(
    service: RunningService,
) -> None:
    status, events = post_stream(
        f"{service.url}/v1/chat/completions", chat_body(QUESTION, stream=True)
    )
    assert status == 200
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert sum(1 for d in deltas if d) >= 3
    final = chunks[-1]
    assert final["choices"] == []
    assert final["usage"]["completion_tokens"] > 0
    assert final["contexts"][0]["id"] == "kb-042"
    _, plain = post_json(f"{service.url}/answer", {"question": QUESTION})
    assert "".join(deltas) == plain["answer"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
