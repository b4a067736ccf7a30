"""Epoch aggregation: mean, majority, and the two agreements, with their edges."""

from __future__ import annotations

import math

import pytest

from cujeval.scorers.judges import epochs


def test_valid_drops_failed_and_nan_epochs() -> None:
    assert epochs.valid([1.0, None, math.nan, 0.5]) == [1.0, 0.5]


def test_mean() -> None:
    assert epochs.mean([1.0, 0.5]) == 0.75


@pytest.mark.parametrize(
    ("verdicts", "majority", "agreement"),
    [
        ([True], True, 1.0),
        ([False, False, False], False, 1.0),
        ([True, False, False], False, 2 / 3),
        ([True, False], True, 0.5),  # a tie counts as a hallucination
    ],
)
def test_majority_and_verdict_agreement(
    verdicts: list[bool], majority: bool, agreement: float
) -> None:
    assert epochs.majority(verdicts) is majority
    assert epochs.verdict_agreement(verdicts) == pytest.approx(agreement)


@pytest.mark.parametrize(
    ("values", "agreement"),
    [([0.8], 1.0), ([0.7, 0.7], 1.0), ([0.2, 0.9, 0.5], 0.3), ([0.0, 1.0], 0.0)],
)
def test_spread_agreement(values: list[float], agreement: float) -> None:
    assert epochs.spread_agreement(values) == pytest.approx(agreement)


@pytest.mark.parametrize(
    "fn", [epochs.mean, epochs.majority, epochs.verdict_agreement, epochs.spread_agreement]
)
def test_no_epoch_is_an_error_not_a_zero(fn: object) -> None:
    with pytest.raises(ValueError, match="no epoch"):
        fn([])  # type: ignore[operator]
