"""The reference service's index embeds its corpus once per machine: a second build reads the
vectors from the user cache (the same ones), another corpus gets its own, and a damaged cache
file is embedded again rather than trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cujeval.reference.corpus import Article
from cujeval.reference.index import DenseIndex

ARTICLES = (
    Article("kb-1", "Refunds", "billing", "Refunds take five days. Ask support for one."),
    Article("kb-2", "Passwords", "account", "Reset it from the login page. Links expire."),
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "cujeval" / "reference-index"


def test_a_corpus_is_embedded_once_and_read_back(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = DenseIndex.build(ARTICLES)
    [stored] = cache.glob("*.npy")
    query = first.embed(["how long does a refund take"])[0]
    calls: list[int] = []

    def counted(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        raise AssertionError("embedded again although cached")

    monkeypatch.setattr("cujeval.models.embeddings.encode", counted)
    again = DenseIndex.build(ARTICLES)
    assert not calls
    assert [h.article.id for h in again.search(query, 2)] == ["kb-1", "kb-2"]
    assert [h.score for h in again.search(query, 2)] == [h.score for h in first.search(query, 2)]
    assert list(cache.glob("*.npy")) == [stored]


def test_another_corpus_and_a_damaged_file_are_embedded(cache: Path) -> None:
    DenseIndex.build(ARTICLES)
    DenseIndex.build(ARTICLES[:1])
    files = sorted(cache.glob("*.npy"))
    assert len(files) == 2
    for f in files:
        f.write_bytes(b"not an array")
    rebuilt = DenseIndex.build(ARTICLES)
    query = rebuilt.embed(["reset my password"])[0]
    assert rebuilt.search(query, 1)[0].article.id == "kb-2"
    assert not list(cache.glob(".*.tmp.npy"))
