"""Retrieval metrics: hand-worked cases, trec_eval conformance, and the scorers' edges."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
import pytrec_eval

from cujeval.errors import InputError
from cujeval.scorers import base
from cujeval.scorers.retrieval import (
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)
from cujeval.spec.records import Context, GoldenCase, Observation

CASES = Path(__file__).parents[1] / "data" / "retrieval_cases.jsonl"
KERNELS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "hit_rate": hit_rate_at_k,
    "ndcg": ndcg_at_k,
}
CUTOFFS = (1, 3, 5, 10, 20)


def _load_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", _load_cases(), ids=lambda c: c["name"])
def test_hand_worked_cases(case: dict[str, Any]) -> None:
    run, rel, k = case["retrieved"], set(case["relevant"]), case["k"]
    for metric, kernel in KERNELS.items():
        assert kernel(run, rel, k) == pytest.approx(case["expected"][metric], abs=1e-12), metric
    assert reciprocal_rank(run, rel) == pytest.approx(case["expected"]["rr"], abs=1e-12)


def _random_queries(n: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """qrels (with judged non-relevant docs) and runs with strictly decreasing scores."""
    rng = random.Random(seed)
    pool = [f"d{i:02d}" for i in range(40)]
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, dict[str, float]] = {}
    for q in range(n):
        judged = rng.sample(pool, rng.randint(1, 15))
        n_rel = rng.randint(1, len(judged))
        qrels[f"q{q}"] = {d: int(i < n_rel) for i, d in enumerate(judged)}
        ranked = rng.sample(pool, rng.randint(1, 30))
        runs[f"q{q}"] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)}
    return qrels, runs


def test_matches_pytrec_eval_on_random_runs() -> None:
    qrels, runs = _random_queries(400, seed=7)
    cut = ",".join(map(str, CUTOFFS))
    measures = {f"P.{cut}", f"recall.{cut}", f"success.{cut}", f"ndcg_cut.{cut}", "recip_rank"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(runs)
    assert len(reference) == 400
    trec_names = {"precision": "P", "recall": "recall", "hit_rate": "success", "ndcg": "ndcg_cut"}
    for q, run_scores in runs.items():
        ranked = sorted(run_scores, key=run_scores.__getitem__, reverse=True)
        relevant = {d for d, r in qrels[q].items() if r > 0}
        expected = reference[q]
        for metric, kernel in KERNELS.items():
            for k in CUTOFFS:
                got = kernel(ranked, relevant, k)
                assert abs(got - expected[f"{trec_names[metric]}_{k}"]) <= 1e-9, (q, metric, k)
        assert abs(reciprocal_rank(ranked, relevant) - expected["recip_rank"]) <= 1e-9, q


@pytest.mark.parametrize("kernel", [*KERNELS.values(), reciprocal_rank])
@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_k_is_rejected(kernel: Any, k: int) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        kernel(["a"], {"a"}, k)


@pytest.mark.parametrize("kernel", [recall_at_k, ndcg_at_k])
def test_metrics_dividing_by_relevant_need_relevant_ids(kernel: Any) -> None:
    with pytest.raises(ValueError, match="no relevant ids"):
        kernel(["a"], set(), 3)


def test_reciprocal_rank_cut_off() -> None:
    assert reciprocal_rank(["x", "y", "a"], {"a"}, 2) == 0.0
    assert reciprocal_rank(["x", "y", "a"], {"a"}, 3) == pytest.approx(1 / 3)


def _case(relevant: tuple[str, ...] | None = ("a", "c")) -> GoldenCase:
    return GoldenCase(id="c1", input="q", relevant_ids=relevant)


def _obs(*ids: str | None, **kwargs: Any) -> Observation:
    return Observation(contexts=tuple(Context(id=i, text="t") for i in ids), **kwargs)


def _score(name: str, case: GoldenCase, obs: Observation, **options: Any) -> dict[str, Any]:
    out = asyncio.run(base.create(name, options)(case, obs))
    return {k: v.value for k, v in out.items()} | {
        "_explanations": [v.explanation for v in out.values()]
    }


@pytest.mark.parametrize(
    ("name", "options", "sli", "value"),
    [
        ("precision@2", {}, "precision@2", 0.5),
        ("precision@k", {}, "precision@5", 0.4),
        ("precision@k", {"k": 3}, "precision@3", 2 / 3),
        ("recall@1", {}, "recall@1", 0.0),
        ("hit_rate@2", {}, "hit_rate@2", 1.0),
        ("ndcg@3", {}, "ndcg@3", 0.6934264036172708),
        ("mrr", {}, "mrr", 0.5),
        ("mrr@1", {}, "mrr@1", 0.0),
        ("mrr", {"k": 2}, "mrr@2", 0.5),
    ],
)
def test_scorers_emit_the_concrete_sli(
    name: str, options: dict[str, Any], sli: str, value: float
) -> None:
    out = _score(name, _case(), _obs("x", "a", "c", "y"), **options)
    assert out[sli] == pytest.approx(value)
    assert set(out) == {sli, "_explanations"}


def test_rank_field_orders_the_run() -> None:
    obs = Observation(
        contexts=(Context(id="a", rank=3), Context(id="x", rank=1), Context(id="y", rank=2))
    )
    assert _score("mrr", _case(), obs)["mrr"] == pytest.approx(1 / 3)


def test_no_contexts_is_zero_not_unscorable() -> None:
    assert _score("precision@3", _case(), Observation(answer="a"))["precision@3"] == 0.0
    assert _score("ndcg@3", _case(), _obs())["ndcg@3"] == 0.0


@pytest.mark.parametrize(
    ("case", "obs", "reason"),
    [
        (_case(None), _obs("a"), "no relevant_ids"),
        (_case(()), _obs("a"), "no relevant_ids"),
        (_case(), _obs("a", status="timeout", error="slow"), "target error (timeout)"),
        (_case(), _obs(None, None), "carry no ids"),
    ],
)
def test_unscorable_cases(case: GoldenCase, obs: Observation, reason: str) -> None:
    for name in ("precision@3", "recall@3", "hit_rate@3", "ndcg@3", "mrr"):
        out = _score(name, case, obs)
        [sli] = [k for k in out if k != "_explanations"]
        assert out[sli] is None
        assert reason in out["_explanations"][0]


@pytest.mark.parametrize("name", ["precision@0", "recall@k", "ndcg@k", "mrr"])
def test_bad_k_is_an_input_error_at_construction(name: str) -> None:
    options = {} if name.endswith("@0") else {"k": 0}
    with pytest.raises(InputError, match="k must be a positive integer"):
        base.create(name, options)


def test_boolean_k_is_rejected() -> None:
    with pytest.raises(InputError, match="k must be a positive integer"):
        base.create("precision@k", {"k": True})
