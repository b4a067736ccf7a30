"""Which context sentences a claim is paired with for the support encoder."""

from __future__ import annotations

import numpy as np
import pytest

from cujeval.grounding.premise import budget, first_text, join, premise, select


def test_everything_fits_keeps_context_order() -> None:
    assert select(np.array([0.1, 0.9, 0.5]), [5, 5, 5], 15) == [0, 1, 2]


def test_nearest_first_then_back_in_context_order() -> None:
    # budget 10: nearest (1, 6 tokens), then 3 (4 tokens); 2 (5 tokens) no longer fits
    assert select(np.array([0.1, 0.9, 0.5, 0.4]), [3, 6, 5, 4], 10) == [1, 3]


def test_nearest_kept_even_when_too_long() -> None:
    assert select(np.array([0.2, 0.8]), [3, 50], 10) == [1]


def test_lengths_must_pair_with_similarities() -> None:
    with pytest.raises(ValueError, match="one similarity"):
        select(np.array([0.2]), [3, 4], 10)


def test_join_marks_gaps() -> None:
    assert join(["A.", "B.", "C.", "D."], [0, 1, 3]) == "A. B. … D."


def test_premise_embeds_only_when_needed() -> None:
    sentences = ["one two", "three four five", "six"]

    def count(texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def never() -> np.ndarray:
        raise AssertionError("short evidence needs no similarities")

    assert premise("q c", sentences, never, count, 40) == "one two three four five six"
    long = [*sentences, "far " * 40, "seven"]  # 47 tokens against a budget of 35
    got = premise("q c", long, lambda: np.array([0.0, 0.9, 0.8, 0.5, 0.1]), count, 40)
    assert got == "one two three four five six … seven"
    assert budget(100, 128) == 32 and budget(10, 128) == 115
    assert first_text(" What is DNA? ", "It is an acid.") == "What is DNA? It is an acid."
    assert first_text("", "Claim.") == "Claim."
