"""Threshold choice from labelled scores."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cujeval.errors import InputError
from cujeval.grounding.calibrate import choose_threshold, evaluate_threshold

SCORES = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]
LABELS = [False, False, True, False, False, True, True, True]


def test_evaluate_threshold_counts() -> None:
    c = evaluate_threshold(SCORES, LABELS, 0.6)
    # predicted positive: 0.6 (FP), 0.7, 0.8, 0.9 (TP); 0.3 is a FN
    assert (c.precision, c.recall) == (0.75, 0.75)
    assert c.f1 == pytest.approx(0.75)
    assert c.balanced_accuracy == pytest.approx((0.75 + 0.75) / 2)
    assert (c.n, c.positives, c.rule) == (8, 4, "fixed")


def test_max_f1_picks_the_best_threshold() -> None:
    c = choose_threshold(SCORES, LABELS)
    assert c.threshold == 0.7
    assert c.f1 == pytest.approx(6 / 7)
    assert c.rule == "max_f1"


def test_target_recall_and_precision() -> None:
    full = choose_threshold(SCORES, LABELS, rule="target_recall=1.0")
    assert (full.threshold, full.recall) == (0.3, 1.0)
    high = choose_threshold(SCORES, LABELS, rule="target_recall=0.5")
    assert high.threshold == 0.8
    precise = choose_threshold(SCORES, LABELS, rule="target_precision=1")
    assert (precise.threshold, precise.precision) == (0.7, 1.0)


@pytest.mark.parametrize(
    ("scores", "labels", "rule", "message"),
    [
        ([0.1], [True, False], "max_f1", "pair up"),
        ([], [], "max_f1", "no scored"),
        ([0.1, 0.2], [True, True], "max_f1", "both positive and negative"),
        ([0.1, float("nan")], [True, False], "max_f1", "finite"),
        ([0.1, 0.2], [True, False], "best", "unknown rule"),
        ([0.1, 0.2], [True, False], "target_recall=1.5", "within"),
    ],
)
def test_bad_input(scores: list[float], labels: list[bool], rule: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        choose_threshold(scores, labels, rule=rule)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.booleans()), min_size=2, max_size=40
    ).filter(lambda rows: len({label for _, label in rows}) == 2)
)
def test_chosen_threshold_has_the_best_f1(rows: list[tuple[float, bool]]) -> None:
    scores, labels = [s for s, _ in rows], [label for _, label in rows]
    chosen = choose_threshold(scores, labels)
    for candidate in [*scores, 0.0, 0.5, 1.0, 1.1]:
        assert chosen.f1 >= evaluate_threshold(scores, labels, candidate).f1 - 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.booleans()), min_size=2, max_size=40
    ).filter(lambda rows: len({label for _, label in rows}) == 2),
    st.floats(0.05, 1.0),
)
def test_target_recall_is_met_at_the_highest_such_threshold(
    rows: list[tuple[float, bool]], target: float
) -> None:
    scores, labels = [s for s, _ in rows], [label for _, label in rows]
    chosen = choose_threshold(scores, labels, rule=f"target_recall={target}")
    assert chosen.recall >= target
    for higher in (s for s in scores if s > chosen.threshold):
        assert evaluate_threshold(scores, labels, higher).recall < target
