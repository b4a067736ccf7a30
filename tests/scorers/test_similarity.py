"""Answer similarity (embedding cosine) and SQuAD token F1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cujeval.scorers import base
from cujeval.scorers.base import Score
from cujeval.scorers.similarity import normalize_answer, token_f1_score
from cujeval.spec.records import GoldenCase, Observation

DATASET = Path(__file__).parents[2] / "datasets" / "support_rag.jsonl"


def _score(name: str, answer: str | None, reference: str | None, **obs: Any) -> Score:
    case = GoldenCase(id="c1", input="q", reference=reference)
    out = asyncio.run(base.create(name)(case, Observation(answer=answer, **obs)))
    assert list(out) == [name]
    return out[name]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("The Cat sat.", ["cat", "sat"]),
        ("U.S. army, an ant and a bee", ["us", "army", "ant", "and", "bee"]),
        ("Anna theorised", ["anna", "theorised"]),
        ("  the   ", []),
    ],
)
def test_normalisation(text: str, tokens: list[str]) -> None:
    assert normalize_answer(text) == tokens


@pytest.mark.parametrize(
    ("prediction", "reference", "f1"),
    [
        ("The cat sat.", "cat sat", 1.0),
        ("x b c", "b c d", 2 / 3),
        ("a b c", "b c d", 0.8),
        ("cat cat", "cat", 2 / 3),
        ("Paris", "London", 0.0),
        ("the", "an", 1.0),
        ("the", "Paris", 0.0),
        ("$8 per member per month", "$8 per member per month billed annually", 10 / 12),
    ],
)
def test_token_f1(prediction: str, reference: str, f1: float) -> None:
    assert token_f1_score(prediction, reference) == pytest.approx(f1)
    assert token_f1_score(reference, prediction) == pytest.approx(f1)


def test_token_f1_scorer() -> None:
    assert _score("token_f1", "The capital is Paris", "Paris is the capital").value == 1.0


@pytest.mark.parametrize("name", ["token_f1", "answer_similarity"])
@pytest.mark.parametrize(
    ("answer", "reference", "obs", "reason"),
    [
        ("Paris", None, {}, "no reference"),
        ("Paris", "  ", {}, "no reference"),
        (None, "Paris", {}, "no answer"),
        ("", "Paris", {}, "no answer"),
        ("Paris", "Paris", {"status": "timeout"}, "target error (timeout)"),
    ],
)
def test_unscorable(
    name: str, answer: str | None, reference: str | None, obs: dict[str, Any], reason: str
) -> None:
    score = _score(name, answer, reference, **obs)
    assert score.value is None
    assert reason in score.explanation


def test_similarity_is_the_models_cosine() -> None:
    from cujeval.models.embeddings import model

    answer, reference = "You can pay by PayPal.", "Yes, PayPal is accepted for Plus and Business."
    raw = model().encode([answer, reference], convert_to_numpy=True, normalize_embeddings=False)
    expected = float(raw[0] @ raw[1] / (np.linalg.norm(raw[0]) * np.linalg.norm(raw[1])))
    value = _score("answer_similarity", answer, reference).value
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-5)
    assert _score("answer_similarity", reference, reference).value == pytest.approx(1.0, abs=1e-5)


def test_similarity_prefers_the_matching_reference_on_real_data() -> None:
    """Each question of the help-centre dataset is closer to its own reference answer than to
    the reference of an unrelated question (different first tag), for most cases."""
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()][:40]
    wins = 0
    for i, row in enumerate(rows):
        other = next(r for r in rows[i + 1 :] + rows[:i] if r["tags"][0] != row["tags"][0])
        own = _score("answer_similarity", row["input"], row["reference"]).value
        foreign = _score("answer_similarity", row["input"], other["reference"]).value
        assert isinstance(own, float) and isinstance(foreign, float)
        assert -1.0 <= foreign <= 1.0 and -1.0 <= own <= 1.0
        wins += own > foreign
    assert wins >= 0.85 * len(rows)
