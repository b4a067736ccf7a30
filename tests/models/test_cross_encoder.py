"""The NumPy cross-encoder gives the training framework's logits (the torch modules that
benchmarks/train_grounding_model.py trains), on fixed pairs, with the shipped delta."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cujeval.grounding.encoder import DEFAULT_PATH
from cujeval.models.cross_encoder import CrossEncoder
from cujeval.models.minilm import MODEL_DIR, load_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import train_grounding_model as training

PAIRS = [
    ("what is dna? DNA is a nucleic acid.", "Deoxyribonucleic acid (DNA) is a nucleic acid."),
    ("what is dna? DNA is a protein made in the liver.", "DNA is a nucleic acid … It is old."),
    ("Paris is the capital of France.", ""),
    (
        "How long to boil eggs? Boil them for 9 minutes.",
        "Boil the eggs for 10 to 12 minutes. " * 20,
    ),
]


@pytest.fixture(scope="module")
def shipped() -> CrossEncoder:
    return CrossEncoder(DEFAULT_PATH)


def test_numpy_logits_equal_the_torch_modules(shipped: CrossEncoder) -> None:
    import torch

    weights = load_weights(MODEL_DIR / "model.safetensors")
    delta = load_weights(DEFAULT_PATH)
    weights.update(delta)
    frozen = int(shipped.info["frozen_layers"])
    _, _, top_cls, bottom_cls = training.torch_modules(weights, 6)
    bottom, top = bottom_cls(frozen).eval(), top_cls(frozen).eval()
    with torch.no_grad():
        top.head.weight.copy_(torch.from_numpy(delta["head.weight"]))
        top.head.bias.copy_(torch.from_numpy(delta["head.bias"]))
        encodings = shipped.tokenize([a for a, _ in PAIRS], [b for _, b in PAIRS])
        expected = []
        for e in encodings:
            ids = torch.tensor([e.ids])
            types = torch.tensor([e.type_ids])
            mask = torch.ones_like(ids)
            expected.append(float(top(bottom(ids, types, mask), mask)[0]))
    got = shipped.logits([a for a, _ in PAIRS], [b for _, b in PAIRS])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert len(encodings[3].ids) == shipped.max_tokens  # the long pair was cut


def test_batched_and_single_logits_agree(shipped: CrossEncoder) -> None:
    firsts, seconds = [a for a, _ in PAIRS], [b for _, b in PAIRS]
    together = shipped.logits(firsts, seconds, batch_size=4)
    alone = [shipped.logits([a], [b])[0] for a, b in PAIRS]
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_supported_pair_scores_below_a_contradicted_one(shipped: CrossEncoder) -> None:
    good, bad = shipped.logits([PAIRS[0][0], PAIRS[1][0]], [PAIRS[0][1], PAIRS[0][1]])
    assert good < bad


def test_a_delta_must_fit_its_base(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "delta.safetensors"
    save_file({"head.weight": np.zeros((1, 384), np.float16)}, str(path))
    with pytest.raises(ValueError, match="not a cross-encoder delta"):
        CrossEncoder(path)
