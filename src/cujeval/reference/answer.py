"""Extractive answers: the sentences of the retrieved articles that best match the question.

A sentence's weight is ``0.7 * cos(question, sentence) + 0.3 * score(its article)``, so a
close sentence from a weaker article can still win but the top article is preferred. The best
sentence is always kept, the second too, a third when its weight is within ``margin`` of the
best. They are shown in reading order (article rank, then position in the article), each with
its article id in brackets before the final punctuation: ``... every 30 days [kb-012].``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cujeval.reference.index import Candidate, Hit


@dataclass(frozen=True)
class Piece:
    """One cited sentence of an answer."""

    text: str
    article_id: str


def select(
    candidates: Sequence[Candidate],
    hits: Sequence[Hit],
    *,
    max_sentences: int = 3,
    margin: float = 0.08,
) -> list[Piece]:
    """Pick 2-3 sentences (fewer only if fewer exist), in reading order."""
    score_of = {h.article.id: h.score for h in hits}

    def weight(c: Candidate) -> float:
        return 0.7 * c.similarity + 0.3 * score_of.get(c.article_id, 0.0)

    ranked = sorted(candidates, key=lambda c: (-weight(c), c.hit_rank, c.position))
    chosen: list[Candidate] = []
    for candidate in ranked:
        if len(chosen) >= max_sentences:
            break
        if len(chosen) >= 2 and weight(candidate) < weight(ranked[0]) - margin:
            break
        if any(candidate.text == c.text for c in chosen):
            continue
        chosen.append(candidate)
    chosen.sort(key=lambda c: (c.hit_rank, c.position))
    return [Piece(text=c.text, article_id=c.article_id) for c in chosen]


def cite(piece: Piece) -> str:
    """``"Text ends here."`` -> ``"Text ends here [kb-001]."``"""
    text = piece.text.rstrip()
    end = text[-1] if text and text[-1] in ".!?" else "."
    body = text[:-1] if text and text[-1] in ".!?" else text
    return f"{body} [{piece.article_id}]{end}"


def render(pieces: Sequence[Piece]) -> str:
    """The answer text: cited sentences joined by spaces."""
    return " ".join(cite(p) for p in pieces)
