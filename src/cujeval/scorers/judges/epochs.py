"""Combining K judgements of one case into one value and an agreement.

Two agreements, one per kind of verdict:

- a yes/no verdict (``hallucination``): the share of epochs agreeing with the majority,
  ``max(#yes, #no) / K``; 1.0 when unanimous, 0.5 at worst for K = 2.
- a score in [0, 1] (faithfulness, relevancy, precision, recall): one minus the normalized
  spread, ``1 - (max - min)``; 1.0 when every epoch gave the same score, 0.0 when one gave 0
  and another 1. The range needs no further normalisation as the scores live in [0, 1].

Epochs whose judgement failed are left out; with no epoch left there is no value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def valid(values: Sequence[float | None]) -> list[float]:
    """The epochs that produced a number (None and NaN dropped)."""
    return [v for v in values if v is not None and not math.isnan(v)]


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean of a non-empty sequence; ValueError when empty."""
    if not values:
        raise ValueError("no epoch produced a value")
    return sum(values) / len(values)


def majority(verdicts: Sequence[bool]) -> bool:
    """The majority verdict; a tie counts as True (a split judge is not a clean pass)."""
    if not verdicts:
        raise ValueError("no epoch produced a verdict")
    yes = sum(1 for v in verdicts if v)
    return 2 * yes >= len(verdicts)


def verdict_agreement(verdicts: Sequence[bool]) -> float:
    """``max(#yes, #no) / K``: the share of epochs agreeing with the majority verdict."""
    if not verdicts:
        raise ValueError("no epoch produced a verdict")
    yes = sum(1 for v in verdicts if v)
    return max(yes, len(verdicts) - yes) / len(verdicts)


def spread_agreement(values: Sequence[float]) -> float:
    """``1 - (max - min)`` of scores in [0, 1], clipped to [0, 1]."""
    if not values:
        raise ValueError("no epoch produced a value")
    return min(1.0, max(0.0, 1.0 - (max(values) - min(values))))
