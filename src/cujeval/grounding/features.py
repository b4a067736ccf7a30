"""Features that say how well each claim of an answer is supported by the contexts.

Evidence units are the context sentences and every window of two adjacent sentences (its
embedding the normalised sum of the two). For a claim c with content stems S(c):

- ``sim_max``          max cosine(c, unit) over all units
- ``sim_question``     cosine(c, question): restating the question is not new information
- ``coverage``         |S(c) ∩ (S(contexts) ∪ S(question))| / |S(c)|
- ``best_coverage``    the same against the best unit alone (plus the question)
- ``bigram_coverage``  share of adjacent content-stem pairs of c found in the contexts/question
- ``novel_words``      log(1 + |S(c) − S(contexts) − S(question)|)
- ``missing_numbers``  numbers of c found in no context and not in the question
- ``missing_names``    capitalised words of c found in no context and not in the question
- ``negation_mismatch`` 1 when exactly one of c and its best unit holds a negation
- ``citation_gap``     when c cites "passage k": max sim overall − max sim within the cited
  passages (1 when it cites a passage that does not exist)
- ``length``           log(1 + words in c)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from cujeval.grounding import lexical
from cujeval.grounding.claims import split_sentences

if TYPE_CHECKING:
    import numpy as np

Embed = Callable[[list[str]], "np.ndarray"]

FEATURES: tuple[str, ...] = (
    "sim_max",
    "sim_question",
    "coverage",
    "best_coverage",
    "bigram_coverage",
    "novel_words",
    "missing_numbers",
    "missing_names",
    "negation_mismatch",
    "citation_gap",
    "length",
)
_CITATION = re.compile(r"passages?\s*((?:\d+\s*(?:,|&|and|or)?\s*)+)", re.IGNORECASE)
_BRACKET_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class _PassageText:
    sentences: tuple[str, ...]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    words: frozenset[str]
    sentence_stems: tuple[frozenset[str], ...]
    sentence_negated: tuple[bool, ...]


@lru_cache(maxsize=4096)
def _passage_text(text: str) -> _PassageText:
    sentences = tuple(c.text for c in split_sentences(text)) or (text,)
    stems = [lexical.content_stems(s) for s in sentences]
    return _PassageText(
        sentences=sentences,
        stems=frozenset(s for ss in stems for s in ss),
        bigrams=frozenset(b for ss in stems for b in lexical.bigrams(ss)),
        numbers=frozenset(lexical.numbers(text)),
        words=frozenset(lexical.words(text)),
        sentence_stems=tuple(frozenset(ss) for ss in stems),
        sentence_negated=tuple(lexical.negated(s) for s in sentences),
    )


@dataclass(frozen=True)
class Evidence:
    """The contexts cut into units, with what the features read from them."""

    units: tuple[str, ...]
    unit_passage: tuple[int, ...]
    unit_stems: tuple[frozenset[str], ...]
    unit_negated: tuple[bool, ...]
    embeddings: np.ndarray
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    words: frozenset[str]
    n_passages: int


def build_evidence(passages: Sequence[str], embed: Embed) -> Evidence:
    """Cut passages into sentence and two-sentence-window units and embed them."""
    import numpy as np

    parsed = [_passage_text(p) for p in passages]
    sentences = [s for p in parsed for s in p.sentences]
    sentence_emb = embed(sentences)
    units: list[str] = []
    owner: list[int] = []
    unit_stems: list[frozenset[str]] = []
    unit_negated: list[bool] = []
    rows: list[np.ndarray] = []
    base = 0
    for index, p in enumerate(parsed):
        n = len(p.sentences)
        for i in range(n):
            units.append(p.sentences[i])
            owner.append(index)
            unit_stems.append(p.sentence_stems[i])
            unit_negated.append(p.sentence_negated[i])
            rows.append(sentence_emb[base + i])
            if i + 1 < n:
                joined = sentence_emb[base + i] + sentence_emb[base + i + 1]
                units.append(p.sentences[i] + " " + p.sentences[i + 1])
                owner.append(index)
                unit_stems.append(p.sentence_stems[i] | p.sentence_stems[i + 1])
                unit_negated.append(p.sentence_negated[i] or p.sentence_negated[i + 1])
                rows.append(joined / max(float(np.linalg.norm(joined)), 1e-9))
        base += n
    embeddings = np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)
    return Evidence(
        units=tuple(units),
        unit_passage=tuple(owner),
        unit_stems=tuple(unit_stems),
        unit_negated=tuple(unit_negated),
        embeddings=embeddings,
        stems=frozenset().union(*(p.stems for p in parsed)),
        bigrams=frozenset().union(*(p.bigrams for p in parsed)),
        numbers=frozenset().union(*(p.numbers for p in parsed)),
        words=frozenset().union(*(p.words for p in parsed)),
        n_passages=len(parsed),
    )


def cited_passages(claim: str) -> set[int]:
    """Zero-based indices of the passages a claim cites ("(Passage 2 & 3)", "[1]")."""
    cited: set[int] = set()
    for match in _CITATION.finditer(claim):
        cited.update(int(n) - 1 for n in re.findall(r"\d+", match.group(1)))
    cited.update(int(n) - 1 for n in _BRACKET_CITATION.findall(claim))
    return cited


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def claim_features(
    claims: Sequence[str], question: str, evidence: Evidence, embed: Embed
) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix (claims × FEATURES) and each claim's best unit index."""
    import numpy as np

    matrix = np.zeros((len(claims), len(FEATURES)), dtype=np.float64)
    best = np.zeros(len(claims), dtype=np.int64)
    if not claims:
        return matrix, best
    vectors = embed([*claims, question])
    claim_emb, question_emb = vectors[:-1], vectors[-1]
    sims = claim_emb @ evidence.embeddings.T if len(evidence.units) else None
    q_stems = set(lexical.content_stems(question))
    q_bigrams = lexical.bigrams(lexical.content_stems(question))
    q_numbers = lexical.numbers(question)
    q_words = set(lexical.words(question))
    owner = np.asarray(evidence.unit_passage)
    for row, claim in enumerate(claims):
        stems_list = lexical.content_stems(claim)
        stems = set(stems_list)
        known = evidence.stems | q_stems
        grams = lexical.bigrams(stems_list)
        sim_max, best_unit, citation_gap = 0.0, 0, 0.0
        if sims is not None:
            best_unit = int(np.argmax(sims[row]))
            sim_max = float(sims[row, best_unit])
            cited = cited_passages(claim)
            if cited:
                inside = [c for c in cited if 0 <= c < evidence.n_passages]
                mask = np.isin(owner, inside)
                citation_gap = sim_max - float(sims[row][mask].max()) if mask.any() else 1.0
        best[row] = best_unit
        best_known = (evidence.unit_stems[best_unit] if evidence.units else frozenset()) | q_stems
        numbers = lexical.numbers(claim) - evidence.numbers - q_numbers
        names = lexical.capitalised_names(claim) - evidence.words - q_words
        negation = (
            lexical.negated(claim) != evidence.unit_negated[best_unit] if evidence.units else False
        )
        matrix[row] = (
            sim_max,
            float(claim_emb[row] @ question_emb),
            _share(len(stems & known), len(stems)),
            _share(len(stems & best_known), len(stems)),
            _share(len(grams & (evidence.bigrams | q_bigrams)), len(grams)),
            np.log1p(len(stems - known)),
            len(numbers),
            len(names),
            float(negation),
            citation_gap,
            np.log1p(len(lexical.words(claim))),
        )
    return matrix, best
