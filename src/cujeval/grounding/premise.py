"""The evidence a claim is checked against by the support encoder: the context sentences most
similar to the claim that fit a token budget, in their original order.

The encoder reads at most ``max_tokens`` tokens, so a claim is paired with the sentences nearest
to it (MiniLM cosine), taken greedily from the nearest down while they fit, and then put back
in context order so that adjacent sentences read as they were written. Training
(benchmarks/train_grounding_model.py) builds its pairs with these same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MIN_BUDGET = 32


def first_text(question: str, claim: str) -> str:
    """The encoder's first segment: the question (when there is one), then the claim."""
    return f"{question.strip()} {claim.strip()}".strip()


def budget(first_tokens: int, max_tokens: int) -> int:
    """Tokens left for the evidence after the first segment and the three special tokens."""
    return max(MIN_BUDGET, max_tokens - 3 - first_tokens)


def select(similarity: np.ndarray, lengths: Sequence[int], limit: int) -> list[int]:
    """Indices of the sentences to keep, in context order: by descending ``similarity``, each
    kept while the running total of ``lengths`` (tokens) stays within ``limit``. The nearest
    sentence is always kept (the encoder truncates it if it alone is too long)."""
    import numpy as np

    if len(similarity) != len(lengths):
        raise ValueError("one similarity and one length per sentence")
    if not len(lengths):
        return []
    if sum(lengths) <= limit:
        return list(range(len(lengths)))
    order = np.argsort(-np.asarray(similarity, dtype=np.float64), kind="stable")
    chosen = [int(order[0])]
    used = lengths[chosen[0]]
    for i in order[1:]:
        if used + lengths[int(i)] <= limit:
            chosen.append(int(i))
            used += lengths[int(i)]
    return sorted(chosen)


def join(sentences: Sequence[str], chosen: Sequence[int]) -> str:
    """The kept sentences as one text ("…" between sentences that were not adjacent)."""
    parts: list[str] = []
    previous = None
    for i in chosen:
        if previous is not None and i != previous + 1:
            parts.append("…")
        parts.append(sentences[i])
        previous = i
    return " ".join(parts)


def premise(
    first: str,
    sentences: Sequence[str],
    similarity: Callable[[], np.ndarray],
    count: Callable[[list[str]], list[int]],
    max_tokens: int,
) -> str:
    """The evidence text for one claim. ``similarity`` is called only when the sentences do not
    all fit (so short evidence needs no embeddings); ``count`` gives token counts."""
    lengths = count(list(sentences))
    limit = budget(count([first])[0], max_tokens)
    if sum(lengths) <= limit:
        return join(sentences, range(len(sentences)))
    return join(sentences, select(similarity(), lengths, limit))
