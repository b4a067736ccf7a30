"""Injected faults of the reference service, decided per question so runs are reproducible.

Each request draws from ``random.Random`` seeded by a hash of ``(seed, question)``: which
questions fail, hallucinate or lose their contexts does not depend on arrival order.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from cujeval.errors import InputError

RATE_NAMES = ("error_rate", "hallucination_rate", "drop_contexts")


@dataclass(frozen=True)
class FaultDecision:
    """What goes wrong with one request; ``rng`` drives any fabricated content."""

    error: bool
    hallucinate: bool
    drop_contexts: bool
    rng: random.Random


def check_rate(name: str, value: float) -> None:
    """A rate is a probability in [0, 1]."""
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise InputError(f"must be a number between 0 and 1, got {value!r}", field=name)


def check_latency(value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0.0):
        raise InputError(f"must be a finite number >= 0, got {value!r}", field="latency_ms")


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
) -> FaultDecision:
    """Draw the three faults in a fixed order; a fault happens when its draw < its rate."""
    rng = request_rng(seed, question)
    error, hallucinate, drop = rng.random(), rng.random(), rng.random()
    return FaultDecision(
        error=error < error_rate,
        hallucinate=hallucinate < hallucination_rate,
        drop_contexts=drop < drop_contexts,
        rng=rng,
    )


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
