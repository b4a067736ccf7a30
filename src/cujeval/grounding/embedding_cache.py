"""An LRU cache of sentence embeddings keyed by text, batching misses across threads.

Context passages recur across cases (the same documents are retrieved again and again), so
their sentences are encoded once per process. Misses from cases scored at the same time are
encoded together: while one thread runs the model, the others queue their texts, and the next
of them encodes the whole queue in one call (one model call of 40 sentences costs about half of
ten calls of 4).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DIM = 384


@dataclass
class _Request:
    texts: list[str]
    vectors: dict[str, np.ndarray] | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class EmbeddingCache:
    """Thread-safe LRU of ``text -> L2-normalised embedding`` (cujeval.models.embeddings)."""

    def __init__(self, maxsize: int = 50_000, *, batch_size: int = 16) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.batch_size = batch_size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._queue = threading.Condition()
        self._pending: list[_Request] = []
        self._encoding = False

    def __len__(self) -> int:
        return len(self._items)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts`` (shape (n, 384)), encoding only those not cached."""
        import numpy as np

        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            found = {t: self._items[t] for t in texts if t in self._items}
            for t in found:
                self._items.move_to_end(t)
            missing = list(dict.fromkeys(t for t in texts if t not in found))
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            fresh = self._encode_queued(missing)
            found.update(fresh)
            with self._lock:
                for text, vector in fresh.items():
                    self._items[text] = vector
                    self._items.move_to_end(text)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def _encode_queued(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Queue ``texts``; the first thread to find the model idle encodes the whole queue."""
        request = _Request(texts)
        with self._queue:
            self._pending.append(request)
            while not request.done and self._encoding:
                self._queue.wait()
            if request.done:
                return _outcome(request)
            self._encoding = True
            batch, self._pending = self._pending, []
        try:
            self._run(batch)
        finally:
            with self._queue:
                self._encoding = False
                self._queue.notify_all()
        return _outcome(request)

    def _run(self, batch: list[_Request]) -> None:
        from cujeval.models.embeddings import encode

        unique = list(dict.fromkeys(t for r in batch for t in r.texts))
        try:
            table = dict(zip(unique, encode(unique, batch_size=self.batch_size), strict=True))
        except BaseException as exc:
            for r in batch:
                r.error, r.done = exc, True
            raise
        for r in batch:
            r.vectors, r.done = {t: table[t] for t in r.texts}, True


def _outcome(request: _Request) -> dict[str, np.ndarray]:
    if request.error is not None:
        raise request.error
    if request.vectors is None:
        raise RuntimeError("embedding request finished without vectors")
    return request.vectors


default_cache = EmbeddingCache()
