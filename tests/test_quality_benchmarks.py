"""The quality benchmarks' own arithmetic, on the real RAGTruth slice in tests/data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SLICE = Path(__file__).resolve().parent / "data" / "ragtruth_slice.jsonl"
sys.path.insert(0, str(BENCHMARKS))

import grounding_ablation  # noqa: E402
import scorer_quality  # noqa: E402
import train_support_model as training  # noqa: E402

from cujeval.grounding.calibrate import evaluate_threshold  # noqa: E402
from cujeval.grounding.features import FEATURES  # noqa: E402
from cujeval.grounding.labelled import load_ragtruth  # noqa: E402
from cujeval.grounding.model import default_model  # noqa: E402


@pytest.fixture(scope="module")
def table() -> training.Table:
    return training.featurize(load_ragtruth(SLICE))


def test_f1_interval_is_degenerate_when_every_resample_agrees() -> None:
    labels = np.array([True, False, True, False, True, False])
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    assert scorer_quality.f1_interval(labels.copy(), labels, groups) == (1.0, 1.0)
    assert scorer_quality.f1_interval(~labels, labels, groups) == (0.0, 0.0)


def test_f1_interval_brackets_the_shipped_models_f1(table: training.Table) -> None:
    model = default_model()
    scores = training.answer_scores(model, table, np.arange(len(table.labels)))
    decided = scores >= model.threshold
    point = evaluate_threshold(scores.tolist(), table.labels.tolist(), model.threshold).f1
    low, high = scorer_quality.f1_interval(decided, table.labels, table.groups)
    assert 0.0 < low < point < high < 1.0


def test_f1_interval_resamples_whole_groups() -> None:
    # One question holds every answer, so every resample is that question: the interval is the
    # point F1 (one hit, one false alarm, one miss: 0.5). Resampling single answers spreads it.
    labels = np.array([True, True, False, False, False, False])
    decided = np.array([True, False, True, False, False, False])
    one = np.array(["q"] * 6)
    assert scorer_quality.f1_interval(decided, labels, one) == pytest.approx((0.5, 0.5))
    low, high = scorer_quality.f1_interval(decided, labels, np.arange(6).astype(str))
    assert low < 0.5 < high


def test_ablation_fits_a_model_without_the_left_out_feature(table: training.Table) -> None:
    rest = tuple(f for f in FEATURES if f != "length")
    reduced = grounding_ablation.without(table, FEATURES.index("length"))
    assert all(f.shape[1] == len(rest) for f in reduced.features)
    model = training.fit(reduced, np.arange(len(reduced.labels)), 0.01, features=rest)
    assert model.features == rest
    scores = grounding_ablation.out_of_fold(reduced, 0.01, grounding_ablation.POOLS["max"], rest)
    assert scores.shape == (len(table.labels),)
    assert ((scores >= 0.0) & (scores <= 1.0)).all()
    assert scores[table.labels].mean() > scores[~table.labels].mean()


def test_average_precision_matches_a_hand_count() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([True, False, True, False])
    # hits at ranks 1 and 3: (1/1 + 2/3) / 2
    assert grounding_ablation.average_precision(scores, labels) == pytest.approx(5 / 6)
