"""The shipped support model JSON: loads, documents its features, and evaluates in numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cujeval.errors import InputError
from cujeval.grounding import features as features_module
from cujeval.grounding.features import FEATURES
from cujeval.grounding.model import DEFAULT_PATH, SupportModel, default_model, load


def test_shipped_model_loads_with_the_documented_features() -> None:
    model = default_model()
    assert model.features == FEATURES
    doc = features_module.__doc__ or ""
    for name in FEATURES:
        assert f"``{name}``" in doc
    assert 0.0 < model.threshold < 1.0
    assert "max F1" in model.info["threshold_rule"]
    assert model.info["oof_at_threshold"]["f1"] > 0.4


def test_shipped_model_leans_the_right_way() -> None:
    model = default_model()
    coef = dict(zip(model.features, model.coef, strict=True))
    assert coef["novel_words"] + coef["rare_novel_words"] > 0
    assert coef["missing_numbers"] > 0
    assert coef["coverage"] + coef["bigram_coverage"] < 0


def test_probability_is_the_logistic_of_the_standardised_score() -> None:
    model = SupportModel(
        features=("a", "b"),
        mean=(1.0, 0.0),
        scale=(2.0, 1.0),
        coef=(1.0, -1.0),
        intercept=0.5,
        threshold=0.5,
    )
    p = model.unsupported_probability(np.array([[3.0, 1.0], [1.0, 0.0]]))
    assert p == pytest.approx([1 / (1 + np.exp(-0.5)), 1 / (1 + np.exp(-0.5))])
    p2 = model.unsupported_probability(np.array([[5.0, 0.0]]))
    assert p2[0] == pytest.approx(1 / (1 + np.exp(-2.5)))


def test_a_missing_number_floors_the_probability() -> None:
    model = SupportModel(
        features=("coverage", "missing_numbers"),
        mean=(0.0, 0.0),
        scale=(1.0, 1.0),
        coef=(-5.0, 0.1),
        intercept=-2.0,
        threshold=0.2,
        number_floor=0.6,
    )
    p = model.unsupported_probability(np.array([[1.0, 0.0], [1.0, 1.0], [-2.0, 1.0]]))
    assert p[0] < 0.01
    assert p[1] == 0.6
    assert p[2] > 0.99


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(default_model().to_dict()))
    assert load(path) == default_model()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(features=d["features"][::-1]), "differ"),
        (lambda d: d.update(threshold=1.5), "threshold"),
        (lambda d: d.pop("coef"), "coef"),
        (lambda d: d.update(scale=[0.0] * len(d["scale"])), "positive"),
    ],
)
def test_bad_model_files_are_input_errors(tmp_path: Path, edit: object, message: str) -> None:
    data = json.loads(DEFAULT_PATH.read_text())
    edit(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as raised:
        load(path)
    assert str(path) in str(raised.value)


def test_a_feature_weighs_only_with_a_nonzero_coefficient() -> None:
    model = SupportModel(
        features=("a", "b"),
        mean=(0.0, 0.0),
        scale=(1.0, 1.0),
        coef=(1.0, 0.0),
        intercept=0.0,
        threshold=0.5,
    )
    assert model.weighs("a") and not model.weighs("b") and not model.weighs("c")


def test_the_shipped_model_records_which_inputs_nested_selection_chose() -> None:
    model = default_model()
    chosen = model.info["feature_set"]
    used = set(model.info["feature_sets"][chosen])
    assert {f for f in model.features if model.weighs(f)} == used
