"""Pure parts of the reference service: corpus parsing, answer composition, faults, wire."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from cujeval.errors import InputError
from cujeval.reference import faults, openai_wire
from cujeval.reference.answer import Piece, cite, render, select
from cujeval.reference.batching import BatchEncoder
from cujeval.reference.config import RagConfig
from cujeval.reference.corpus import Article, load_articles, split_sentences
from cujeval.reference.index import Candidate, Hit
from cujeval.reference.tokens import count_tokens

CORPUS = Path(__file__).resolve().parents[2] / "datasets" / "helpcentre" / "articles.jsonl"


def test_split_sentences_keeps_paths_prices_and_domains_whole() -> None:
    text = (
        "Go to Settings > Billing. It costs $8. Email no-reply@mail.lumio.app or "
        "open lumio.app/w/x. 3 retries follow! Why? Done"
    )
    assert split_sentences(text) == (
        "Go to Settings > Billing.",
        "It costs $8.",
        "Email no-reply@mail.lumio.app or open lumio.app/w/x.",
        "3 retries follow!",
        "Why?",
        "Done",
    )


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ('{"id": "kb-1", "title": "t", "section": "s"}', "text", "non-empty string"),
        ('["a"]', None, "expected a JSON object"),
    ],
)
def test_load_articles_names_file_line_and_field(
    tmp_path: Path, line: str, field: str | None, message: str
) -> None:
    path = tmp_path / "a.jsonl"
    good = json.dumps({"id": "kb-0", "title": "t", "section": "s", "text": "x"})
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(InputError) as info:
        load_articles(path)
    assert (info.value.line, info.value.field) == (3, field)
    assert message in str(info.value) and str(path) in str(info.value)


def test_load_articles_rejects_duplicate_ids_and_empty_files(tmp_path: Path) -> None:
    row = json.dumps({"id": "kb-0", "title": "t", "section": "s", "text": "x"})
    path = tmp_path / "dup.jsonl"
    path.write_text(f"{row}\n{row}\n")
    with pytest.raises(InputError, match="duplicate id 'kb-0'"):
        load_articles(path)
    path.write_text("\n")
    with pytest.raises(InputError, match="no articles"):
        load_articles(path)


def test_cite_puts_the_id_before_the_final_punctuation() -> None:
    assert cite(Piece("Kept for 30 days.", "kb-042")) == "Kept for 30 days [kb-042]."
    assert cite(Piece("Is it free?", "kb-1")) == "Is it free [kb-1]?"
    assert cite(Piece("No stop", "kb-1")) == "No stop [kb-1]."
    assert render([Piece("A.", "kb-1"), Piece("B.", "kb-2")]) == "A [kb-1]. B [kb-2]."


def _article(i: int) -> Article:
    return Article(id=f"kb-{i}", title="t", section="s", text="x")


def test_select_keeps_two_or_three_best_sentences_in_reading_order() -> None:
    hits = [Hit(_article(1), 1, 0.8), Hit(_article(2), 2, 0.6)]
    cands = [
        Candidate("a0.", "kb-1", 1, 0, 0.20),
        Candidate("a1.", "kb-1", 1, 1, 0.70),
        Candidate("a2.", "kb-1", 1, 2, 0.65),
        Candidate("b0.", "kb-2", 2, 0, 0.72),
        Candidate("b1.", "kb-2", 2, 1, 0.10),
    ]
    assert [p.text for p in select(cands, hits)] == ["a1.", "a2.", "b0."]
    far = [Candidate("a1.", "kb-1", 1, 1, 0.9), Candidate("a2.", "kb-1", 1, 2, 0.2)]
    far.append(Candidate("a3.", "kb-1", 1, 3, 0.1))
    assert [p.text for p in select(far, hits)] == ["a1.", "a2."]
    assert select([], hits) == []


def test_fault_decisions_are_a_function_of_seed_and_question() -> None:
    def draw(seed: int, question: str) -> tuple[bool, bool, bool]:
        d = faults.decide(seed, question, error_rate=0.5, hallucination_rate=0.5, drop_contexts=0.5)
        return d.error, d.hallucinate, d.drop_contexts

    questions = [f"question {i}" for i in range(200)]
    first = [draw(0, q) for q in questions]
    assert first == [draw(0, q) for q in questions]
    assert first != [draw(1, q) for q in questions]
    errors = sum(e for e, _, _ in first)
    assert 60 < errors < 140


def test_rates_zero_and_one_are_never_and_always() -> None:
    for i in range(50):
        never = faults.decide(i, "q", error_rate=0, hallucination_rate=0, drop_contexts=0)
        always = faults.decide(i, "q", error_rate=1, hallucination_rate=1, drop_contexts=1)
        assert not (never.error or never.hallucinate or never.drop_contexts)
        assert always.error and always.hallucinate and always.drop_contexts


def test_every_fabrication_is_absent_from_the_corpus() -> None:
    corpus = " ".join(a.text for a in load_articles(CORPUS))
    seen = {faults.fabricate(random.Random(i)) for i in range(2000)}
    assert len(seen) >= 30
    for sentence in seen:
        assert sentence not in corpus
        assert any(ch.isdigit() for ch in sentence)


@pytest.mark.parametrize(
    "options", [{"error_rate": 2.0}, {"latency_ms": float("nan")}, {"top_k": 0}, {"model_name": ""}]
)
def test_rag_config_rejects_bad_settings(options: dict[str, object]) -> None:
    with pytest.raises(InputError):
        RagConfig(corpus=CORPUS, **options)  # type: ignore[arg-type]


def test_stream_words_join_back_to_the_answer() -> None:
    answer = "Kept for 30 days [kb-042]. After 30 days in the Trash, pages go  [kb-042]."
    parts = openai_wire.split_words(answer)
    assert "".join(parts) == answer
    assert len(parts) == 5


def test_chunks_end_with_usage_and_contexts() -> None:
    tokens = openai_wire.usage(10, 4)
    events = list(openai_wire.chunks(model="m", answer="a b c d", contexts=[], tokens=tokens))
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1] == {**events[-1], "choices": [], "usage": tokens, "contexts": []}
    assert tokens["total_tokens"] == 14
    assert openai_wire.sse("[DONE]") == b"data: [DONE]\n\n"


def test_count_tokens_uses_wordpieces() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello") == 1
    assert count_tokens("Lumio unsubscribes") > 2


def test_batch_encoder_batches_concurrent_requests_and_keeps_their_order() -> None:
    calls: list[list[str]] = []

    def encode_batch(texts: list[str]) -> list[str]:
        calls.append(texts)
        return [t.upper() for t in texts]

    async def main() -> list[str]:
        encoder = BatchEncoder(encode_batch, max_batch=3)
        return list(await asyncio.gather(*(encoder.embed(t) for t in "abcdefg")))

    assert asyncio.run(main()) == list("ABCDEFG")
    assert calls == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


def test_batch_encoder_fails_every_waiter_of_a_failed_batch_and_recovers() -> None:
    def encode_batch(texts: list[str]) -> list[str]:
        if "bad" in texts:
            raise RuntimeError("model down")
        return texts

    async def main() -> tuple[list[object], str]:
        encoder = BatchEncoder(encode_batch)
        failed = await asyncio.gather(
            encoder.embed("bad"), encoder.embed("x"), return_exceptions=True
        )
        return list(failed), await encoder.embed("ok")

    failed, later = asyncio.run(main())
    assert [str(e) for e in failed] == ["model down", "model down"]
    assert later == "ok"
