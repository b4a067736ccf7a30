"""The RAG pipeline without HTTP: retrieve, extract a cited answer, apply the faults, count.

Two steps, timed apart by the routes (``Server-Timing``): :meth:`RagEngine.retrieve` (the
dense search, or nothing when the retriever is down, or part of it under ``partial_contexts``)
and :meth:`RagEngine.generate` (the extractive answer; with no passage, the graceful
"can't find it" answer, or with the fallback off an ungrounded invented one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cujeval.reference.answer import Piece, render, select
from cujeval.reference.config import RagConfig
from cujeval.reference.faults import FaultDecision, Knobs, fabricate
from cujeval.reference.index import DenseIndex, Hit
from cujeval.reference.tokens import count_tokens

if TYPE_CHECKING:
    from cujeval.reference.index import Vectors

MAX_TOP_K = 20
FALLBACK_ANSWER = (
    "I couldn't find anything about that in the help centre, so I can't answer it reliably. "
    "Please rephrase the question or contact support."
)


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
    """Answers questions from a built index under one RagConfig and the live knobs."""

    def __init__(self, config: RagConfig, index: DenseIndex, knobs: Knobs | None = None) -> None:
        self.config = config
        self.index = index
        self.knobs = knobs if knobs is not None else config.knobs()

    def faults(self, question: str) -> FaultDecision:
        return self.knobs.decide(question)

    def retrieve(self, query: Vectors, top_k: int | None, faults: FaultDecision) -> list[Hit]:
        """The top-k articles for the question's embedding ``query``; none when the retriever
        is down; under ``partial_contexts`` only the lower half of the ranking (the top hits
        lost, as when a shard of the index does not answer)."""
        if faults.retriever_down:
            return []
        k = min(top_k or self.config.top_k, MAX_TOP_K)
        hits = self.index.search(query, k)
        if faults.partial_contexts and len(hits) > 1:
            hits = hits[(len(hits) + 1) // 2 :]
        return hits

    def generate(
        self, question: str, query: Vectors, hits: list[Hit], faults: FaultDecision
    ) -> RagResult:
        """The answer from ``hits``. With no hit: the fallback answer, or with the fallback
        off, an answer invented without any passage (fluent, specific and unsupported)."""
        if not hits:
            if self.knobs.fallback:
                text = FALLBACK_ANSWER
            else:
                text = " ".join(fabricate(faults.rng) for _ in range(2))
            return RagResult(
                answer=text,
                contexts=[],
                prompt_tokens=count_tokens(question),
                completion_tokens=count_tokens(text),
            )
        pieces = select(self.index.candidates(query, hits[:3]), hits)
        if faults.hallucinate:
            fabricated = Piece(text=fabricate(faults.rng), article_id=hits[0].article.id)
            pieces.insert(faults.rng.randint(0, len(pieces)), fabricated)
        text = render(pieces)
        return RagResult(
            answer=text,
            contexts=[] if faults.drop_contexts else [context_of(h) for h in hits],
            prompt_tokens=count_tokens(render_prompt(question, hits)),
            completion_tokens=count_tokens(text),
        )

    def answer(
        self, question: str, query: Vectors, top_k: int | None, faults: FaultDecision
    ) -> RagResult:
        """Retrieve and generate in one call; about 1 ms, call it off the loop."""
        return self.generate(question, query, self.retrieve(query, top_k, faults), faults)
