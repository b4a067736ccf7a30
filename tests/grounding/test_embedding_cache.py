"""The LRU embedding cache sends only misses to the encoder, once."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import cujeval.models.embeddings
from cujeval.grounding.embedding_cache import EmbeddingCache


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []

    def fake_encode(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        seen.append(list(texts))
        return np.array([[float(len(t))] + [0.0] * 383 for t in texts], dtype=np.float32)

    monkeypatch.setattr(cujeval.models.embeddings, "encode", fake_encode)
    return seen


def test_only_misses_are_encoded_and_order_is_kept(calls: list[list[str]]) -> None:
    cache = EmbeddingCache(maxsize=10)
    first = cache.encode(["a", "bb", "a"])
    assert calls == [["a", "bb"]]
    assert first[:, 0].tolist() == [1.0, 2.0, 1.0]
    second = cache.encode(["bb", "ccc"])
    assert calls[-1] == ["ccc"]
    assert second[:, 0].tolist() == [2.0, 3.0]
    assert (cache.hits, cache.misses) == (2, 3)


def test_least_recently_used_is_evicted(calls: list[list[str]]) -> None:
    cache = EmbeddingCache(maxsize=2)
    cache.encode(["a", "b"])
    cache.encode(["a"])  # "b" is now the least recently used
    cache.encode(["c"])
    assert len(cache) == 2
    cache.encode(["a", "b"])
    assert calls[-1] == ["b"]


def test_empty_and_bad_size(calls: list[list[str]]) -> None:
    assert EmbeddingCache().encode([]).shape == (0, 384)
    assert calls == []
    with pytest.raises(ValueError):
        EmbeddingCache(maxsize=0)


def test_concurrent_misses_are_batched_and_each_thread_gets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def slow_encode(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        calls.append(list(texts))
        if len(calls) == 1:
            release.wait(5)
        return np.array([[float(len(t))] + [0.0] * 383 for t in texts], dtype=np.float32)

    monkeypatch.setattr(cujeval.models.embeddings, "encode", slow_encode)
    cache = EmbeddingCache()
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        results[i] = cache.encode(["x" * i, "shared"])[:, 0].tolist()

    first = threading.Thread(target=work, args=(1,))
    first.start()
    while not calls:
        threading.Event().wait(0.001)
    others = [threading.Thread(target=work, args=(i,)) for i in range(2, 8)]
    for t in others:
        t.start()
    while sum(1 for t in others if t.is_alive()) and len(cache._pending) < len(others):
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert len(calls) == 2  # the first call, then every queued miss in one batch
    assert sorted(calls[1]) == sorted(["x" * i for i in range(2, 8)] + ["shared"])
    assert results == {i: [float(i), 6.0] for i in range(1, 8)}


def test_an_encoder_failure_reaches_every_waiting_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(cujeval.models.embeddings, "encode", broken)
    cache = EmbeddingCache()
    with pytest.raises(RuntimeError, match="exploded"):
        cache.encode(["a"])
    assert len(cache) == 0
