"""The offline sentence-embedding model: all-MiniLM-L6-v2, run in NumPy (cujeval.models).

Its weights ship inside cujeval (fp16 safetensors with the model's own tokenizer), so nothing
reaches the network and torch is never imported. Loaded lazily, once per process; the embeddings
equal sentence-transformers' to about 1e-6 cosine.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from cujeval.models.minilm import MiniLM

_lock = threading.Lock()
_load_lock = threading.Lock()
_model: MiniLM | None = None


def model() -> MiniLM:
    """The encoder. Thread-safe: loaded once even when many threads ask."""
    global _model
    if _model is not None:
        return _model
    with _load_lock:
        if _model is None:
            from cujeval.models.minilm import MiniLM

            _model = MiniLM()
    return _model


def encode(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised embeddings, shape (len(texts), 384); dot product is cosine similarity."""
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    m = model()
    with _lock:  # one encoding at a time: two at once only make 2 cores fight
        out = m.encode(texts, batch_size=batch_size)
    return np.asarray(out, dtype=np.float32)
