"""Retrieval SLIs with binary relevance, as trec_eval defines them.

The run is ``obs.retrieved_ids`` in rank order, the judgements ``case.relevant_ids``.
Duplicate ids in a run count once, at their first rank (a trec_eval run cannot hold a document
twice). No contexts returned scores 0.0: nothing relevant was retrieved. A case without
relevant ids, a failed target call, or contexts without ids cannot be scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence

from cujeval.scorers.base import Score, Scorer, scorer, single
from cujeval.spec.records import GoldenCase, Observation

Kernel = Callable[[Sequence[str], Collection[str], int], float]
_NEEDS = ("relevant_ids", "contexts")


def _check_k(k: int | None) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _check_relevant(relevant: Collection[str]) -> None:
    if not relevant:
        raise ValueError("no relevant ids: the metric is undefined")


def _top(retrieved: Sequence[str], k: int | None) -> list[str]:
    """The first k distinct ids, each at its first rank."""
    return list(dict.fromkeys(retrieved))[:k]


def _hits(retrieved: Sequence[str], relevant: Collection[str], k: int | None) -> int:
    return sum(1 for d in _top(retrieved, k) if d in relevant)


def precision_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """P@k = |relevant ∩ top-k| / k; k is the divisor even when fewer than k were retrieved.

    k <= 0: ValueError. An empty run gives 0.0.
    """
    _check_k(k)
    return _hits(retrieved, relevant, k) / k


def recall_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """R@k = |relevant ∩ top-k| / |relevant|.

    k <= 0 or no relevant ids: ValueError. An empty run gives 0.0.
    """
    _check_k(k)
    _check_relevant(relevant)
    return _hits(retrieved, relevant, k) / len(set(relevant))


def hit_rate_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Hit@k (trec_eval ``success_k``) = 1.0 if any relevant id is in the top k, else 0.0.

    k <= 0: ValueError.
    """
    _check_k(k)
    return 1.0 if _hits(retrieved, relevant, k) else 0.0


def reciprocal_rank(
    retrieved: Sequence[str], relevant: Collection[str], k: int | None = None
) -> float:
    """RR = 1 / rank of the first relevant id (ranks from 1), 0.0 when none is retrieved
    (within the first k distinct ids when k is given; k <= 0: ValueError). MRR is its mean."""
    _check_k(k)
    for rank, doc in enumerate(_top(retrieved, k), start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """nDCG@k = DCG@k / IDCG@k, binary gains, trec_eval ``ndcg_cut_k``.

    DCG@k = Σ_{i<=k, d_i relevant} 1 / log2(i + 1);
    IDCG@k = Σ_{i=1}^{min(k, |relevant|)} 1 / log2(i + 1) (all relevant ids ranked first).
    k <= 0 or no relevant ids: ValueError. An empty run gives 0.0.
    """
    _check_k(k)
    _check_relevant(relevant)
    dcg = sum(
        1.0 / math.log2(i + 1)
        for i, doc in enumerate(_top(retrieved, k), start=1)
        if doc in relevant
    )
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(set(relevant))) + 1))
    return dcg / ideal


def _unscorable_reason(case: GoldenCase, obs: Observation) -> str | None:
    if not obs.ok:
        return f"target error ({obs.status})"
    if not case.relevant_ids:
        return "the golden case has no relevant_ids"
    if obs.contexts and not obs.retrieved_ids:
        return "the retrieved contexts carry no ids"
    return None


def _build(name: str, kernel: Callable[[Sequence[str], Collection[str]], float]) -> Scorer:
    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason = _unscorable_reason(case, obs)
        if reason is not None:
            return Score.unscorable(reason)
        relevant = frozenset(case.relevant_ids or ())
        return Score(value=kernel(obs.retrieved_ids, relevant))

    return single(name, score)


def _register_at_k(base: str, kernel: Kernel, description: str) -> None:
    def factory(*, k: int = 5) -> Scorer:
        _check_k(k)
        return _build(f"{base}@{k}", lambda run, rel: kernel(run, rel, k))

    factory.__doc__ = description
    scorer(f"{base}@k", description=description, needs=_NEEDS)(factory)


_register_at_k("precision", precision_at_k, "Share of the top k that is relevant.")
_register_at_k("recall", recall_at_k, "Share of the relevant ids found in the top k.")
_register_at_k("hit_rate", hit_rate_at_k, "1 when any relevant id is in the top k, else 0.")
_register_at_k("ndcg", ndcg_at_k, "nDCG@k with binary gains and log2 discount (trec_eval).")


@scorer("mrr", needs=_NEEDS)
@scorer("mrr@k", needs=_NEEDS)
def mrr(*, k: int | None = None) -> Scorer:
    """Reciprocal rank of the first relevant id (mean over cases is MRR); optional cut-off k."""
    _check_k(k)
    name = "mrr" if k is None else f"mrr@{k}"
    return _build(name, lambda run, rel: reciprocal_rank(run, rel, k))
