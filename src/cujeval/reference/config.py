"""Settings of the reference RAG service: corpus, retrieval depth, model name, injected faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cujeval.errors import InputError
from cujeval.reference.corpus import default_corpus_path
from cujeval.reference.faults import RATE_NAMES, check_latency, check_rate


@dataclass(frozen=True)
class RagConfig:
    """Frozen settings; the fault rates are probabilities per request, latency in ms."""

    corpus: Path = field(default_factory=default_corpus_path)
    top_k: int = 4
    model_name: str = "reference-extractive-1"
    latency_ms: float = 0.0
    error_rate: float = 0.0
    hallucination_rate: float = 0.0
    drop_contexts: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus", Path(self.corpus))
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise InputError(f"must be an integer >= 1, got {self.top_k!r}", field="top_k")
        if not self.model_name:
            raise InputError("must not be empty", field="model_name")
        check_latency(self.latency_ms)
        for name in RATE_NAMES:
            check_rate(name, getattr(self, name))
