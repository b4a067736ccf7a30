"""The offline judge: split the answer into claims, measure each against the contexts, decide.

A claim is *unsupported* when the support model's p(unsupported) reaches the threshold.
Per answer (checkable claims only):

    faithfulness        = supported claims / checkable claims   (1.0 when none is checkable)
    hallucination_score = max p(unsupported)                    (0.0 when none is checkable)
    hallucinated        = hallucination_score >= threshold
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cujeval.grounding import lexical
from cujeval.grounding.claims import Claim, is_checkable, split_claims
from cujeval.grounding.embedding_cache import EmbeddingCache, default_cache
from cujeval.grounding.encoder import support_logits
from cujeval.grounding.features import Evidence, build_evidence, claim_features
from cujeval.grounding.model import SupportModel, default_model

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Analysis:
    """The answer's claims, which are checkable, and the features of the checkable ones."""

    claims: tuple[Claim, ...]
    checkable: tuple[bool, ...]
    features: np.ndarray  # one row per checkable claim, in order
    nearest_passage: tuple[int, ...]  # per checkable claim; -1 when there is no unit
    nearest_text: tuple[str, ...]
    new_words: tuple[tuple[str, ...], ...]  # per checkable claim: content words found nowhere


def analyse(
    answer: str,
    contexts: Sequence[str],
    question: str,
    *,
    cache: EmbeddingCache | None = None,
    encoder: bool = True,
) -> Analysis:
    """Claims of ``answer`` and their support features against ``contexts``. With ``encoder``
    false the support encoder is not run (its column is 0): for a support model that gives it
    no weight, it would cost most of the time and change nothing."""
    embed = (cache or default_cache).encode
    claims = tuple(split_claims(answer))
    checkable = tuple(is_checkable(c, question) for c in claims)
    checked = [c for c, ok in zip(claims, checkable, strict=True) if ok]
    evidence = build_evidence(contexts, embed)
    support = support_logits if encoder else _no_support
    features, best = claim_features(checked, question, evidence, embed, support)
    known = evidence.stems | set(lexical.content_stems(question))
    new_words = tuple(
        tuple(dict.fromkeys(w for w, s in lexical.content_words(c.body) if s not in known))
        for c in checked
    )
    return Analysis(
        claims=claims,
        checkable=checkable,
        features=features,
        nearest_passage=tuple(evidence.unit_passage[b] if b >= 0 else -1 for b in best),
        nearest_text=tuple(evidence.units[b] if b >= 0 else "" for b in best),
        new_words=new_words,
    )


def _no_support(
    claims: Sequence[Claim], question: str, evidence: Evidence, sims: np.ndarray
) -> np.ndarray:
    import numpy as np

    return np.zeros(len(claims), dtype=np.float64)


@dataclass(frozen=True)
class ClaimVerdict:
    """One claim's verdict; probability, support and nearest passage only when checkable."""

    text: str
    start: int
    end: int
    checkable: bool
    unsupported_probability: float | None = None
    supported: bool | None = None
    nearest_passage: int | None = None
    nearest_text: str = ""
    new_words: tuple[str, ...] = ()  # content words of the claim that no context holds


@dataclass(frozen=True)
class Judgement:
    """Every claim's verdict and the answer-level figures (see module doc)."""

    claims: tuple[ClaimVerdict, ...]
    threshold: float

    @property
    def checked(self) -> list[ClaimVerdict]:
        return [c for c in self.claims if c.checkable]

    @property
    def unsupported(self) -> list[ClaimVerdict]:
        return [c for c in self.claims if c.supported is False]

    @property
    def faithfulness(self) -> float:
        checked = self.checked
        if not checked:
            return 1.0
        return sum(1 for c in checked if c.supported) / len(checked)

    @property
    def hallucination_score(self) -> float:
        return max((c.unsupported_probability or 0.0 for c in self.checked), default=0.0)

    @property
    def hallucinated(self) -> bool:
        return bool(self.checked) and self.hallucination_score >= self.threshold


def judge(
    answer: str,
    contexts: Sequence[str],
    question: str,
    *,
    threshold: float | None = None,
    model: SupportModel | None = None,
    cache: EmbeddingCache | None = None,
) -> Judgement:
    """Judge every claim of ``answer`` against ``contexts`` (CPU-bound: run it in a thread)."""
    model = model or default_model()
    cut = model.threshold if threshold is None else threshold
    analysis = analyse(
        answer, contexts, question, cache=cache, encoder=model.weighs("support_logit")
    )
    probabilities = iter(model.unsupported_probability(analysis.features).tolist())
    nearest = iter(
        zip(analysis.nearest_passage, analysis.nearest_text, analysis.new_words, strict=True)
    )
    verdicts: list[ClaimVerdict] = []
    for claim, ok in zip(analysis.claims, analysis.checkable, strict=True):
        if not ok:
            verdicts.append(ClaimVerdict(claim.text, claim.start, claim.end, checkable=False))
            continue
        p = float(next(probabilities))
        passage, text, new = next(nearest)
        verdicts.append(
            ClaimVerdict(
                claim.text,
                claim.start,
                claim.end,
                checkable=True,
                unsupported_probability=p,
                supported=p < cut,
                nearest_passage=passage if passage >= 0 else None,
                nearest_text=text,
                new_words=new,
            )
        )
    return Judgement(claims=tuple(verdicts), threshold=cut)
