"""Settings of the reference agent service and the faults it injects, decided per conversation.

Each conversation draws from ``random.Random`` seeded by SHA-256 of the seed and its user turns
(:func:`cujeval.reference.faults.request_rng`): which cases get a fault does not depend on the
world id, on arrival order or on concurrency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cujeval.errors import InputError
from cujeval.reference.faults import check_latency, check_rate, request_rng

AGENT_RATE_NAMES = (
    "wrong_tool",
    "wrong_argument",
    "skip_confirmation",
    "extra_steps",
    "tool_errors",
    "forbidden_refund",
)
DEFAULT_MODEL = "reference-agent-rules-1"


@dataclass(frozen=True)
class AgentConfig:
    """Frozen settings: fault rates are probabilities per conversation, latency in ms per step.

    - ``wrong_tool``: the first call of a swappable tool goes to a confusable one instead;
    - ``wrong_argument``: the first call's key argument is misread (a neighbouring order id,
      a misspelt email, an unrelated search query, another escalation category);
    - ``skip_confirmation``: cancellations and refunds happen without asking the user first;
    - ``extra_steps``: 1 to 3 needless read-only calls (the same lookup again, a search);
    - ``tool_errors``: the first call fails (an upstream timeout) and is retried once;
    - ``forbidden_refund``: after looking an order up, the agent refunds it in full although
      no refund is due;
    - ``latency_ms``: added to every tool call.
    """

    model_name: str = DEFAULT_MODEL
    latency_ms: float = 0.0
    wrong_tool: float = 0.0
    wrong_argument: float = 0.0
    skip_confirmation: float = 0.0
    extra_steps: float = 0.0
    tool_errors: float = 0.0
    forbidden_refund: float = 0.0
    seed: int = 0
    max_worlds: int = 4096

    def __post_init__(self) -> None:
        if not self.model_name:
            raise InputError("must not be empty", field="model_name")
        check_latency(self.latency_ms)
        for name in AGENT_RATE_NAMES:
            check_rate(name, getattr(self, name))
        if isinstance(self.max_worlds, bool) or self.max_worlds < 1:
            raise InputError(f"must be >= 1, got {self.max_worlds!r}", field="max_worlds")

    def decide(self, key: str) -> Faults:
        """Draw the six faults in a fixed order; a fault happens when its draw < its rate."""
        rng = request_rng(self.seed, key)
        draws = [rng.random() for _ in AGENT_RATE_NAMES]
        on = {
            name: d < getattr(self, name) for name, d in zip(AGENT_RATE_NAMES, draws, strict=True)
        }
        return Faults(**on, extra_calls=rng.randint(1, 3), rng=rng)


@dataclass(frozen=True)
class Faults:
    """What goes wrong in one conversation; ``rng`` drives the choices a fault makes."""

    wrong_tool: bool = False
    wrong_argument: bool = False
    skip_confirmation: bool = False
    extra_steps: bool = False
    tool_errors: bool = False
    forbidden_refund: bool = False
    extra_calls: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(0))
