"""The support encoder: a MiniLM cross-encoder fine-tuned to tell supported claims from
unsupported ones, run in NumPy (cujeval.models.cross_encoder).

Each checkable claim is paired with its question and the context sentences nearest to it
(cujeval.grounding.premise); the encoder's logit (higher: less supported) is the
``support_logit`` feature of the support model. Trained by benchmarks/train_grounding_model.py
on public grounding sets (docs/grounding.md); the delta over the shipped MiniLM (its top layers
and a head, float16) lives beside this module. Loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cujeval.grounding.premise import first_text, premise

if TYPE_CHECKING:
    import numpy as np

    from cujeval.grounding.claims import Claim
    from cujeval.grounding.features import Evidence
    from cujeval.models.cross_encoder import CrossEncoder

DEFAULT_PATH = Path(__file__).with_name("support_encoder.safetensors")
_load_lock = threading.Lock()
_run_lock = threading.Lock()
_encoder: CrossEncoder | None = None


def encoder() -> CrossEncoder:
    """The shipped support encoder (thread-safe, loaded once)."""
    global _encoder
    if _encoder is not None:
        return _encoder
    with _load_lock:
        if _encoder is None:
            from cujeval.models.cross_encoder import CrossEncoder

            _encoder = CrossEncoder(DEFAULT_PATH)
    return _encoder


@lru_cache(maxsize=65536)
def _tokens(text: str) -> int:
    return len(encoder().tokenizer.encode(text, add_special_tokens=False).ids)


def count(texts: list[str]) -> list[int]:
    """Tokens of each text (capped at the encoder's length: longer ones never fit anyway)."""
    return [_tokens(t) for t in texts]


def pairs(
    claims: Sequence[Claim], question: str, evidence: Evidence, sims: np.ndarray
) -> list[tuple[str, str]]:
    """(question and claim, nearest evidence sentences) for each claim; ``sims`` holds each
    claim's cosine to every evidence unit (claims × units)."""
    units = list(evidence.sentence_units)
    sentences = [evidence.units[u] for u in units]
    limit = encoder().max_tokens
    out = []
    for row, claim in enumerate(claims):
        first = first_text(question, claim.body)

        def similarity(row: int = row) -> np.ndarray:
            picked: np.ndarray = sims[row, units]
            return picked

        out.append((first, premise(first, sentences, similarity, count, limit)))
    return out


def support_logits(
    claims: Sequence[Claim], question: str, evidence: Evidence, sims: np.ndarray
) -> np.ndarray:
    """The encoder's logit for each claim (higher: less supported by the evidence)."""
    import numpy as np

    if not claims:
        return np.zeros(0, dtype=np.float64)
    texts = pairs(claims, question, evidence, sims)
    model = encoder()
    with _run_lock:  # one forward pass at a time: two at once only make the cores fight
        return model.logits([a for a, _ in texts], [b for _, b in texts])
