"""Keyword search over the help-centre articles (BM25), the agent's knowledge base."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from cujeval.reference.corpus import Article, split_sentences

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOP_TEXT = """a an and are as at be by can could do does did for from has have how i if in is
it its me my of on or our so that the their them then there this to was we what when where which
who why will with would you your please tell know want need like about get"""
STOPWORDS = frozenset(re.findall(r"[a-z]+", _STOP_TEXT))


def words(text: str) -> list[str]:
    """Lower-case content words (stopwords dropped, a trailing plural ``s`` folded)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS:
            continue
        out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    snippet: str
    score: float


class KnowledgeBase:
    """BM25 (k1 = 1.2, b = 0.75) over title + text; the title counts twice."""

    def __init__(self, articles: tuple[Article, ...], k1: float = 1.2, b: float = 0.75) -> None:
        self.articles = articles
        self._docs = [Counter(words(f"{a.title} {a.title} {a.text}")) for a in articles]
        self._lengths = [sum(d.values()) for d in self._docs]
        self._avg = sum(self._lengths) / len(self._lengths)
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(articles)
        self._idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
        self._k1, self._b = k1, b

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The top ``k`` articles for ``query``, each with its sentence sharing most words."""
        terms = words(query)
        scored = []
        for i, doc in enumerate(self._docs):
            norm = self._k1 * (1 - self._b + self._b * self._lengths[i] / self._avg)
            s = sum(
                self._idf.get(t, 0.0) * doc[t] * (self._k1 + 1) / (doc[t] + norm)
                for t in terms
                if t in doc
            )
            if s > 0:
                scored.append((s, i))
        scored.sort(key=lambda si: (-si[0], si[1]))
        return [
            Hit(
                id=self.articles[i].id,
                title=self.articles[i].title,
                snippet=best_sentence(self.articles[i].text, terms),
                score=round(s, 4),
            )
            for s, i in scored[:k]
        ]


def best_sentence(text: str, terms: list[str]) -> str:
    """The sentence of ``text`` sharing most distinct words with ``terms`` (first on ties)."""
    wanted = set(terms)
    sentences = split_sentences(text)
    return max(sentences, key=lambda s: len(wanted & set(words(s))))
