"""An LRU cache of sentence embeddings keyed by text.

Context passages recur across cases (the same documents are retrieved again and again), so
their sentences are encoded once per process; only the misses go to the model, in one batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DIM = 384


class EmbeddingCache:
    """Thread-safe LRU of ``text -> L2-normalised embedding`` over cujeval.embeddings.encode."""

    def __init__(self, maxsize: int = 50_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts`` (shape (n, 384)), encoding only those not cached."""
        import numpy as np

        from cujeval.embeddings import encode

        with self._lock:
            found = {t: self._items[t] for t in texts if t in self._items}
            for t in found:
                self._items.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = encode(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = vector
                    self._items[text] = vector
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([found[t] for t in texts])


default_cache = EmbeddingCache()
