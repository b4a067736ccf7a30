"""The records that flow through a run: a GoldenCase goes in, an Observation comes out.

Both are frozen pydantic models so they validate once at the edge and round-trip to JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Instruction(_Frozen):
    """An IFEval-style verifiable instruction: ``{"id": "length_constraints:number_words",
    "kwargs": {"relation": "less than", "num_words": 100}}``."""

    id: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Message(_Frozen):
    role: str
    content: str


class ExpectedToolCall(_Frozen):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GoldenCase(_Frozen):
    """One golden dataset row: the input and what a good response looks like."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    input: str | list[Message]
    reference: str | None = None
    relevant_ids: tuple[str, ...] | None = None
    reference_contexts: tuple[str, ...] | None = None
    instructions: tuple[Instruction, ...] = ()
    expected_tool_calls: tuple[ExpectedToolCall, ...] | None = None
    expected_outcome: str | None = None
    tags: tuple[str, ...] = ()
    cluster: str | None = None

    @property
    def question(self) -> str:
        """The last user turn, or the plain input."""
        if isinstance(self.input, str):
            return self.input
        for message in reversed(self.input):
            if message.role == "user":
                return message.content
        return self.input[-1].content if self.input else ""

    def messages(self) -> list[dict[str, str]]:
        """The input as chat messages."""
        if isinstance(self.input, str):
            return [{"role": "user", "content": self.input}]
        return [m.model_dump() for m in self.input]


class Context(_Frozen):
    """A retrieved passage the target grounded its answer on."""

    id: str | None = None
    text: str = ""
    rank: int | None = None
    score: float | None = None


class ToolCall(_Frozen):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None


class Usage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Observation(_Frozen):
    """What the target did for one case. Never holds secrets."""

    answer: str | None = None
    contexts: tuple[Context, ...] | None = None
    tool_calls: tuple[ToolCall, ...] | None = None
    usage: Usage | None = None
    model: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    state: dict[str, Any] | None = None  # agents: the final state of the world, when reported
    finish_reason: str | None = None  # stop, length, content_filter, tool_calls, ...
    status: str = "ok"
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def retrieved_ids(self) -> list[str]:
        """Context ids in rank order (rank when given, else the order returned)."""
        if not self.contexts:
            return []
        ordered = sorted(
            enumerate(self.contexts),
            key=lambda ic: (ic[1].rank if ic[1].rank is not None else ic[0] + 1, ic[0]),
        )
        return [c.id for _, c in ordered if c.id is not None]
