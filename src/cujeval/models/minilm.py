"""all-MiniLM-L6-v2 sentence embeddings on the NumPy BERT: tokenizer, weights, pooling.

The weights ship inside this package (``minilm/``: fp16 safetensors, the model's own
tokenizer.json and config.json), so nothing is fetched and torch is never imported. Embeddings
equal sentence-transformers' (mean pooling over tokens, L2 norm, 256-token truncation) to about
1e-6 cosine (tests/models/test_minilm.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cujeval.models.bert import Bert, BertConfig, l2_normalise, mean_pool

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).with_name("minilm")
DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """A safetensors file as float32 NumPy arrays (fp16 on disk is widened once, at load)."""
    import numpy as np
    from safetensors.numpy import load_file

    out: dict[str, np.ndarray] = {}
    for name, value in load_file(str(path)).items():
        key = name.removeprefix("bert.")
        if key.endswith("position_ids"):
            continue
        out[key] = value.astype(np.float32) if value.dtype.kind == "f" else value
    return out


def load_tokenizer(path: str | Path, max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """The model's own tokenizer.json, truncating at ``max_tokens``; callers pad per batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.no_padding()
    return tokenizer


class MiniLM:
    """Sentence encoder: ``encode(texts)`` gives one unit vector (384 floats) per text."""

    def __init__(self, directory: str | Path = MODEL_DIR) -> None:
        directory = Path(directory)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.bert = Bert(
            BertConfig.from_dict(config), load_weights(directory / "model.safetensors")
        )
        self.tokenizer = load_tokenizer(directory / "tokenizer.json")

    def encode(
        self,
        texts: list[str],
        *,
        batch_size: int = 64,
        normalize_embeddings: bool = True,
        convert_to_numpy: bool = True,
    ) -> np.ndarray:
        """Mean-pooled, unit-length embeddings, shape (len(texts), 384), float32. Texts are
        batched by length (less padding). The keywords are sentence-transformers', accepted so
        code written for it keeps working; as there, this model ends in a Normalize module, so
        vectors have unit length either way."""
        import numpy as np

        del normalize_embeddings, convert_to_numpy  # always unit vectors, always NumPy
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[chosen] = l2_normalise(mean_pool(self.bert(ids, mask), mask))
        return out
