"""Injected faults of the reference service, decided per question so runs are reproducible.

Each request draws from ``random.Random`` seeded by a hash of ``(seed, question)``: which
questions fail, hallucinate or lose their contexts does not depend on arrival order.

The knobs start from the service's RagConfig and can be changed while it runs
(``POST /admin/faults``, see :class:`Knobs`): rates (``error_rate``, ``hallucination_rate``,
``drop_contexts``, ``retriever_down``, ``partial_contexts``), latencies (``latency_ms``: the
generator's model call; ``retriever_latency_ms``, ``generator_latency_ms``), ``fallback`` (the
graceful answer when nothing was retrieved), ``max_concurrency`` (generation slots; requests
beyond them queue) and ``stall_ms`` (once: the next request stalls the whole service).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from cujeval.errors import InputError

RATE_NAMES = ("error_rate", "hallucination_rate", "drop_contexts")
# the degradation knobs: rates drawn after the three above, so their decisions do not move
DEGRADATION_RATES = ("retriever_down", "partial_contexts")
LATENCY_NAMES = ("latency_ms", "retriever_latency_ms", "generator_latency_ms", "stall_ms")


@dataclass(frozen=True)
class FaultDecision:
    """What goes wrong with one request; ``rng`` drives any fabricated content."""

    error: bool
    hallucinate: bool
    drop_contexts: bool
    rng: random.Random
    retriever_down: bool = False
    partial_contexts: bool = False


def check_rate(name: str, value: float) -> None:
    """A rate is a probability in [0, 1]."""
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise InputError(f"must be a number between 0 and 1, got {value!r}", field=name)


def check_latency(value: float, name: str = "latency_ms") -> None:
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0.0
    ):
        raise InputError(f"must be a finite number >= 0, got {value!r}", field=name)


def request_rng(seed: int, question: str) -> random.Random:
    """The per-request generator: seeded by SHA-256 of ``seed`` and ``question``."""
    digest = hashlib.sha256(f"{seed}\x1f{question}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def decide(
    seed: int,
    question: str,
    *,
    error_rate: float,
    hallucination_rate: float,
    drop_contexts: float,
    retriever_down: float = 0.0,
    partial_contexts: float = 0.0,
) -> FaultDecision:
    """Draw the faults in a fixed order; a fault happens when its draw < its rate."""
    rng = request_rng(seed, question)
    error, hallucinate, drop = rng.random(), rng.random(), rng.random()
    down, partial = rng.random(), rng.random()
    return FaultDecision(
        error=error < error_rate,
        hallucinate=hallucinate < hallucination_rate,
        drop_contexts=drop < drop_contexts,
        rng=rng,
        retriever_down=down < retriever_down,
        partial_contexts=partial < partial_contexts,
    )


@dataclass
class Knobs:
    """The fault knobs in force, changeable while the service runs (one event loop: no lock).

    ``stall_ms`` is one-shot: the next request takes it and blocks the whole service (its
    event loop) that long, as a garbage-collection pause or a stuck lock would."""

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
        for f in fields(self):
            check_knob(f.name, getattr(self, f.name))

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set the named knobs; InputError (nothing changed) on an unknown name or a bad value."""
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                from cujeval.errors import UnknownNameError

                raise UnknownNameError("fault knob", name, sorted(known), field=name)
            check_knob(name, value)
        for name, value in changes.items():
            setattr(self, name, _coerce(name, value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def decide(self, question: str) -> FaultDecision:
        return decide(
            self.seed,
            question,
            error_rate=self.error_rate,
            hallucination_rate=self.hallucination_rate,
            drop_contexts=self.drop_contexts,
            retriever_down=self.retriever_down,
            partial_contexts=self.partial_contexts,
        )

    def take_stall(self) -> float:
        """The pending one-shot stall in seconds (0 when none), cleared."""
        stall, self.stall_ms = self.stall_ms, 0.0
        return stall / 1000.0


def check_knob(name: str, value: Any) -> None:
    """InputError naming ``name`` unless ``value`` fits the knob."""
    if name in RATE_NAMES or name in DEGRADATION_RATES:
        check_rate(name, value)
    elif name in LATENCY_NAMES:
        check_latency(value, name)
    elif name == "fallback":
        if not isinstance(value, bool):
            raise InputError(f"must be true or false, got {value!r}", field=name)
    elif name in ("seed", "max_concurrency"):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or (name == "max_concurrency" and value < 0):
            low = " >= 0 (0: no limit)" if name == "max_concurrency" else ""
            raise InputError(f"must be an integer{low}, got {value!r}", field=name)


def _coerce(name: str, value: Any) -> Any:
    if name in ("seed", "max_concurrency", "fallback"):
        return value
    return float(value)


_FABRICATIONS = (
    (
        "Every plan includes a free {n}-day trial of Enterprise with unlimited storage.",
        (21, 30, 45),
    ),
    ("Monthly plans can be refunded in full for {n} days after each payment.", (30, 45, 60)),
    (
        "Deleted pages stay in the Trash for {n} days, and support can recover them for a year.",
        (45, 60, 120),
    ),
    ("The API allows {n} requests per minute per token on the Free plan.", (500, 750, 2400)),
    (
        "Lumio Vault, included on the Plus plan, stores up to {n} TB of files per workspace.",
        (2, 5, 12),
    ),
    (
        "Two-step verification codes can be sent by SMS to up to {n} phone numbers per account.",
        (3, 4, 6),
    ),
    ("SCIM provisioning is included on the Free plan for up to {n} members.", (25, 40, 75)),
    ("Page history on the Free plan is kept for {n} days.", (60, 120, 180)),
    ("Guests are billed at ${n} per month each after the first 5 guests.", (2, 3, 4)),
    ("Lumio AI is free on every plan for up to {n} responses per day.", (100, 250, 1000)),
    (
        "Owners can undo a workspace deletion for {n} days from Settings > Danger zone > Undo.",
        (60, 90, 180),
    ),
    ("The desktop app also runs on Windows 7 and on macOS 10.{n} or later.", (11, 12, 13)),
)


def fabricate(rng: random.Random) -> str:
    """One fluent sentence with specific facts the help-centre corpus does not support."""
    template, numbers = rng.choice(_FABRICATIONS)
    return template.format(n=rng.choice(numbers))
