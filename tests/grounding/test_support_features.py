"""Claim features against a deterministic stand-in embedder (bag of hashed words)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from cujeval.grounding.claims import Claim, split_claims
from cujeval.grounding.features import FEATURES, Evidence, build_evidence, claim_features
from cujeval.grounding.lexical import words

PASSAGES = (
    "Bake the eggs at 350 degrees for 30 minutes. Do not stir the eggs.",
    "Cool the eggs in ice water. Peel them when cold.",
)


def bag_of_words(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        for w in words(text):
            out[row, zlib.crc32(w.encode()) % 384] += 1.0
        out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
    return out


def words_per_claim(
    claims: Sequence[Claim], question: str, evidence: Evidence, sims: np.ndarray
) -> np.ndarray:
    """A stand-in for the support encoder (tested in test_encoder.py): the claim's length."""
    assert sims.shape == (len(claims), len(evidence.units))
    return np.array([float(len(c.body.split())) for c in claims])


def features(answer: str, question: str = "how to bake eggs") -> dict[str, list[float]]:
    evidence = build_evidence(PASSAGES, bag_of_words)
    matrix, _ = claim_features(
        split_claims(answer), question, evidence, bag_of_words, words_per_claim
    )
    return {name: matrix[:, j].tolist() for j, name in enumerate(FEATURES)}


def test_copied_claim_is_fully_covered_and_close() -> None:
    f = features("Bake the eggs at 350 degrees for 30 minutes.")
    assert f["coverage"] == [1.0]
    assert f["bigram_coverage"] == [1.0]
    assert f["novel_words"] == [0.0]
    assert f["missing_numbers"] == [0.0]
    assert f["sim_max"][0] > 0.99


def test_number_mismatch_is_counted() -> None:
    f = features("Bake the eggs at 425 degrees for 30 minutes.")
    assert f["missing_numbers"] == [1.0]
    assert f["coverage"] == [1.0]


def test_negation_mismatch_against_best_unit() -> None:
    assert features("Stir the eggs.")["negation_mismatch"] == [1.0]
    assert features("Do not stir the eggs.")["negation_mismatch"] == [0.0]


def test_new_words_are_novel_and_rare_ones_weigh_more() -> None:
    f = features("Sprinkle paprika and saffron on the eggs. Add the important stuff to eggs.")
    assert f["novel_words"][0] > 0
    assert f["coverage"][0] < 1.0
    assert f["rare_novel_words"][0] > f["rare_novel_words"][1]


def test_citation_gap_when_the_cited_passage_is_not_the_source() -> None:
    f = features(
        "Cool the eggs in ice water (Passage 2). Cool the eggs in ice water (Passage 1). "
        "Cool the eggs in ice water (Passage 7)."
    )
    assert f["citation_gap"][0] == 0.0
    assert f["citation_gap"][1] > 0.3
    assert f["citation_gap"][2] == 1.0


def test_no_claims_and_no_units() -> None:
    evidence = build_evidence((), bag_of_words)
    claims = split_claims("Eggs are round.")
    matrix, best = claim_features(claims, "q", evidence, bag_of_words, words_per_claim)
    assert matrix.shape == (1, len(FEATURES))
    assert best.tolist() == [-1]
    assert matrix[0, FEATURES.index("support_logit")] == 0.0  # no evidence: nothing to ask
    empty, _ = claim_features([], "q", evidence, bag_of_words, words_per_claim)
    assert empty.shape == (0, len(FEATURES))


def test_support_column_comes_from_the_support_function() -> None:
    f = features("Bake the eggs. Cool the eggs in ice water now.")
    assert f["support_logit"] == [3.0, 7.0]


def test_sentence_units_are_the_single_sentences_in_order() -> None:
    evidence = build_evidence(PASSAGES, bag_of_words)
    sentences = [evidence.units[u] for u in evidence.sentence_units]
    assert sentences == [
        "Bake the eggs at 350 degrees for 30 minutes.",
        "Do not stir the eggs.",
        "Cool the eggs in ice water.",
        "Peel them when cold.",
    ]
