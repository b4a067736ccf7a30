"""Dense retrieval over the help centre with the packaged MiniLM (``cujeval.models.embeddings``).

Each article is embedded whole (title and text) and sentence by sentence (each sentence
prefixed with its title). An article's score for a question q is

    score(a) = ( cos(q, article) + max_{s in a} cos(q, title + s) ) / 2

which keeps the topical match of the whole article and rewards the one sentence that answers.
Everything is embedded once at build time; a query costs one encode and a matrix product.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cujeval.reference.corpus import Article

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hit:
    """A retrieved article; ``rank`` starts at 1."""

    article: Article
    rank: int
    score: float


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved article and how well it matches the question."""

    text: str
    article_id: str
    hit_rank: int
    position: int
    similarity: float


def _embedded(texts: list[str], encode: Callable[[list[str]], Vectors]) -> Vectors:
    """``encode(texts)``, kept in the user cache under a digest of the texts and the model's
    weights file: the same corpus embeds once per machine, not at every start of a service
    (seconds of CPU on two cores). A cache that cannot be read or written is passed by."""
    import numpy as np

    from cujeval._util.paths import user_cache
    from cujeval.models.minilm import MODEL_DIR

    weights = (MODEL_DIR / "model.safetensors").stat()
    digest = hashlib.sha256(f"{weights.st_size}:{weights.st_mtime_ns}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    path = user_cache("reference-index") / f"{digest.hexdigest()[:40]}.npy"
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.shape == (len(texts), 384) and cached.dtype == np.float32:
            return cached  # type: ignore[no-any-return]
    except (OSError, ValueError):
        pass
    vectors = np.asarray(encode(texts), dtype=np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        np.save(scratch, vectors, allow_pickle=False)
        os.replace(scratch, path)  # whole or absent: two services starting at once both fine
    except OSError:
        pass
    return vectors


class DenseIndex:
    """Article and sentence embeddings of a corpus; build once, query from any thread."""

    def __init__(
        self,
        articles: Sequence[Article],
        article_vectors: Vectors,
        sentence_vectors: Vectors,
        sentence_owner: Sequence[int],
        sentence_position: Sequence[int],
    ) -> None:
        import numpy as np

        self.articles = tuple(articles)
        self._row_of = {a.id: i for i, a in enumerate(self.articles)}
        self._article_vectors = article_vectors
        self._sentence_vectors = sentence_vectors
        self._owner = np.asarray(sentence_owner, dtype=np.int64)
        self._position = np.asarray(sentence_position, dtype=np.int64)
        self._sentences = [
            self.articles[o].sentences[p]
            for o, p in zip(sentence_owner, sentence_position, strict=True)
        ]

    @classmethod
    def build(cls, articles: Sequence[Article]) -> DenseIndex:
        """Embed every article and sentence (a few seconds for the bundled corpus)."""
        from cujeval.models.embeddings import encode

        owner: list[int] = []
        position: list[int] = []
        texts: list[str] = []
        for i, article in enumerate(articles):
            for j, sentence in enumerate(article.sentences):
                owner.append(i)
                position.append(j)
                texts.append(f"{article.title}: {sentence}")
        wholes = [f"{a.title}. {a.text}" for a in articles]
        vectors = _embedded([*wholes, *texts], encode)
        return cls(articles, vectors[: len(wholes)], vectors[len(wholes) :], owner, position)

    def embed(self, questions: list[str]) -> Vectors:
        """Unit vectors of ``questions``, shape (len(questions), 384)."""
        import numpy as np

        from cujeval.models.embeddings import encode

        return np.asarray(encode(questions), dtype=np.float32)

    def search(self, query: Vectors, k: int) -> list[Hit]:
        """The ``k`` best articles for ``query``, best first."""
        import numpy as np

        sentence_sims = self._sentence_vectors @ query
        best_sentence = np.full(len(self.articles), -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, self._owner, sentence_sims)
        scores = (self._article_vectors @ query + best_sentence) / 2.0
        order = np.argsort(-scores, kind="stable")[: max(0, k)]
        return [
            Hit(article=self.articles[i], rank=r, score=float(scores[i]))
            for r, i in enumerate(order.tolist(), start=1)
        ]

    def candidates(self, query: Vectors, hits: Sequence[Hit]) -> list[Candidate]:
        """Every sentence of the ``hits`` articles, with its similarity to ``query``."""
        import numpy as np

        rank_of = {self._row_of[h.article.id]: h.rank for h in hits}
        mask = np.isin(self._owner, list(rank_of))
        rows = np.flatnonzero(mask)
        sims = self._sentence_vectors[rows] @ query
        return [
            Candidate(
                text=self._sentences[row],
                article_id=self.articles[int(self._owner[row])].id,
                hit_rank=rank_of[int(self._owner[row])],
                position=int(self._position[row]),
                similarity=float(sim),
            )
            for row, sim in zip(rows.tolist(), sims.tolist(), strict=True)
        ]
