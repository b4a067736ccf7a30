"""The RAG pipeline without HTTP: retrieve, extract a cited answer, apply the faults, count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cujeval.reference.answer import Piece, render, select
from cujeval.reference.config import RagConfig
from cujeval.reference.faults import FaultDecision, decide, fabricate
from cujeval.reference.index import DenseIndex, Hit
from cujeval.reference.tokens import count_tokens

if TYPE_CHECKING:
    from cujeval.reference.index import Vectors

MAX_TOP_K = 20


@dataclass(frozen=True)
class RagResult:
    """One answered question, as the routes serialise it."""

    answer: str
    contexts: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int


def render_prompt(question: str, hits: list[Hit]) -> str:
    """What a generator would have read: the question, then each passage with its id."""
    passages = "\n\n".join(f"[{h.article.id}] {h.article.title}\n{h.article.text}" for h in hits)
    return f"{question}\n\n{passages}"


def context_of(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.article.id,
        "title": hit.article.title,
        "text": hit.article.text,
        "rank": hit.rank,
        "score": round(hit.score, 4),
    }


class RagEngine:
    """Answers questions from a built index under one RagConfig."""

    def __init__(self, config: RagConfig, index: DenseIndex) -> None:
        self.config = config
        self.index = index

    def faults(self, question: str) -> FaultDecision:
        return decide(
            self.config.seed,
            question,
            error_rate=self.config.error_rate,
            hallucination_rate=self.config.hallucination_rate,
            drop_contexts=self.config.drop_contexts,
        )

    def answer(
        self, question: str, query: Vectors, top_k: int | None, faults: FaultDecision
    ) -> RagResult:
        """Answer from the question's embedding ``query``; about 1 ms, call it off the loop."""
        k = min(top_k or self.config.top_k, MAX_TOP_K)
        hits = self.index.search(query, k)
        pieces = select(self.index.candidates(query, hits[:3]), hits)
        if faults.hallucinate and hits:
            fabricated = Piece(text=fabricate(faults.rng), article_id=hits[0].article.id)
            pieces.insert(faults.rng.randint(0, len(pieces)), fabricated)
        text = render(pieces)
        return RagResult(
            answer=text,
            contexts=[] if faults.drop_contexts else [context_of(h) for h in hits],
            prompt_tokens=count_tokens(render_prompt(question, hits)),
            completion_tokens=count_tokens(text),
        )
