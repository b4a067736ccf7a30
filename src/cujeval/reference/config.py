"""Settings of the reference RAG service: corpus, retrieval depth, model name, injected faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cujeval.errors import InputError
from cujeval.reference.corpus import default_corpus_path
from cujeval.reference.faults import Knobs, check_knob


@dataclass(frozen=True)
class RagConfig:
    """Frozen start-up settings; the fault rates are probabilities per request, latencies in
    ms. The knobs (everything from ``latency_ms`` on) can change while the service runs:
    :meth:`knobs` is their starting state."""

    corpus: Path = field(default_factory=default_corpus_path)
    top_k: int = 4
    model_name: str = "reference-extractive-1"
    latency_ms: float = 0.0
    error_rate: float = 0.0
    hallucination_rate: float = 0.0
    drop_contexts: float = 0.0
    seed: int = 0
    retriever_down: float = 0.0
    partial_contexts: float = 0.0
    retriever_latency_ms: float = 0.0
    generator_latency_ms: float = 0.0
    fallback: bool = True
    max_concurrency: int = 0
    stall_ms: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus", Path(self.corpus))
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise InputError(f"must be an integer >= 1, got {self.top_k!r}", field="top_k")
        if not self.model_name:
            raise InputError("must not be empty", field="model_name")
        for name in _KNOBS:
            check_knob(name, getattr(self, name))

    def knobs(self) -> Knobs:
        """The live knobs, starting from these settings."""
        return Knobs(**{name: getattr(self, name) for name in _KNOBS})


_KNOBS = (
    "latency_ms",
    "error_rate",
    "hallucination_rate",
    "drop_contexts",
    "seed",
    "retriever_down",
    "partial_contexts",
    "retriever_latency_ms",
    "generator_latency_ms",
    "fallback",
    "max_concurrency",
    "stall_ms",
)
