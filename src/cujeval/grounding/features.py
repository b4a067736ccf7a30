"""Features that say how well each claim of an answer is supported by the contexts.

Evidence units are the context sentences and every window of two adjacent sentences (its
embedding the normalised sum of the two). For a claim c with content words W(c) and stems
S(c), K = S(contexts) ∪ S(question) the known stems:

- ``sim_max``           max cosine(c, unit) over all units (MiniLM embeddings)
- ``coverage``          |S(c) ∩ K| / |S(c)|  (1 when c has no content word)
- ``bigram_coverage``   share of adjacent content-stem pairs of c found in contexts/question
- ``novel_words``       log(1 + |S(c) − K|)
- ``rare_novel_words``  Σ rarity(w) over words w of c whose stem is not in K (see lexical)
- ``missing_numbers``   numbers of c found in no context and not in the question
- ``negation_mismatch`` 1 when exactly one of c and its best unit holds a negation
- ``citation_gap``      when c cites "passage k": sim_max − max sim within the cited passages
  (1 when it cites a passage that does not exist), else 0
- ``length``            log(1 + words in c)
- ``support_logit``     the support encoder's logit for c against its nearest context sentences
  (cujeval.grounding.encoder; higher: less supported)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from cujeval.grounding import lexical
from cujeval.grounding.claims import Claim, split_sentences

if TYPE_CHECKING:
    import numpy as np

Embed = Callable[[list[str]], "np.ndarray"]
# (claims, question, evidence, claim × unit cosines) -> one logit per claim
Support = Callable[[Sequence[Claim], str, "Evidence", "np.ndarray"], "np.ndarray"]

FEATURES: tuple[str, ...] = (
    "sim_max",
    "coverage",
    "bigram_coverage",
    "novel_words",
    "rare_novel_words",
    "missing_numbers",
    "negation_mismatch",
    "citation_gap",
    "length",
    "support_logit",
)


@dataclass(frozen=True)
class _PassageText:
    sentences: tuple[str, ...]
    sentence_stems: tuple[frozenset[str], ...]
    sentence_negated: tuple[bool, ...]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]


@lru_cache(maxsize=4096)
def _passage_text(text: str) -> _PassageText:
    sentences = tuple(c.text for c in split_sentences(text)) or (text,)
    stems = [lexical.content_stems(s) for s in sentences]
    return _PassageText(
        sentences=sentences,
        sentence_stems=tuple(frozenset(ss) for ss in stems),
        sentence_negated=tuple(lexical.negated(s) for s in sentences),
        stems=frozenset(s for ss in stems for s in ss),
        bigrams=frozenset(b for ss in stems for b in lexical.bigrams(ss)),
        numbers=frozenset(lexical.quantities(text)),
    )


@dataclass(frozen=True)
class Evidence:
    """The contexts cut into units (sentences and two-sentence windows), with their embeddings
    and the words, pairs and numbers the features look up."""

    units: tuple[str, ...]
    sentence_units: tuple[int, ...]  # the units that are single sentences, in context order
    unit_passage: tuple[int, ...]
    unit_negated: tuple[bool, ...]
    embeddings: np.ndarray
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    n_passages: int


def build_evidence(passages: Sequence[str], embed: Embed) -> Evidence:
    """Cut passages into units and embed them (only sentences go to the model)."""
    import numpy as np

    parsed = [_passage_text(p) for p in passages]
    sentence_emb = embed([s for p in parsed for s in p.sentences])
    units: list[str] = []
    single: list[int] = []
    owner: list[int] = []
    negated: list[bool] = []
    rows: list[np.ndarray] = []
    base = 0
    for index, p in enumerate(parsed):
        n = len(p.sentences)
        for i in range(n):
            single.append(len(units))
            units.append(p.sentences[i])
            owner.append(index)
            negated.append(p.sentence_negated[i])
            rows.append(sentence_emb[base + i])
            if i + 1 < n:
                joined = sentence_emb[base + i] + sentence_emb[base + i + 1]
                units.append(f"{p.sentences[i]} {p.sentences[i + 1]}")
                owner.append(index)
                negated.append(p.sentence_negated[i] or p.sentence_negated[i + 1])
                rows.append(joined / max(float(np.linalg.norm(joined)), 1e-9))
        base += n
    return Evidence(
        units=tuple(units),
        sentence_units=tuple(single),
        unit_passage=tuple(owner),
        unit_negated=tuple(negated),
        embeddings=np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32),
        stems=frozenset().union(*(p.stems for p in parsed)),
        bigrams=frozenset().union(*(p.bigrams for p in parsed)),
        numbers=frozenset().union(*(p.numbers for p in parsed)),
        n_passages=len(parsed),
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def claim_features(
    claims: Sequence[Claim], question: str, evidence: Evidence, embed: Embed, support: Support
) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix (claims × FEATURES) and each claim's best unit index (-1: none);
    ``support`` gives the ``support_logit`` column (0 when there is no evidence unit)."""
    import numpy as np

    matrix = np.zeros((len(claims), len(FEATURES)), dtype=np.float64)
    best = np.full(len(claims), -1, dtype=np.int64)
    if not claims:
        return matrix, best
    bodies = [c.body for c in claims]
    sims = embed(bodies) @ evidence.embeddings.T
    owner = np.asarray(evidence.unit_passage)
    q_stems = lexical.content_stems(question)
    known = evidence.stems | set(q_stems)
    known_pairs = evidence.bigrams | lexical.bigrams(q_stems)
    known_numbers = evidence.numbers | lexical.quantities(question)
    for row, (claim, body) in enumerate(zip(claims, bodies, strict=True)):
        pairs = lexical.content_words(body)
        stems = {s for _, s in pairs}
        grams = lexical.bigrams([s for _, s in pairs])
        novel = {w: s for w, s in pairs if s not in known}
        sim_max = citation_gap = 0.0
        negation = False
        if evidence.units:
            best[row] = int(np.argmax(sims[row]))
            sim_max = float(sims[row, best[row]])
            negation = lexical.negated(body) != evidence.unit_negated[best[row]]
            if claim.cites:
                inside = np.isin(owner, [c for c in claim.cites if 0 <= c < evidence.n_passages])
                citation_gap = sim_max - float(sims[row][inside].max()) if inside.any() else 1.0
        matrix[row] = (
            sim_max,
            _share(len(stems & known), len(stems)),
            _share(len(grams & known_pairs), len(grams)),
            np.log1p(len(set(novel.values()))),
            sum(lexical.rarity(w) for w in novel),
            len(lexical.numbers(body) - known_numbers),
            float(negation),
            citation_gap,
            np.log1p(len(lexical.words(body))),
            0.0,
        )
    if evidence.units:
        matrix[:, FEATURES.index("support_logit")] = support(claims, question, evidence, sims)
    return matrix, best
