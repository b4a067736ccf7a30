"""The records that flow through a run: a GoldenCase goes in, an Observation comes out.

Both are frozen pydantic models so they validate once at the edge and round-trip to JSON.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EMPTY = "empty"  # Observation.status of an answer with no text
CUT = "cut"  # Observation.status of an answer the model stopped at its token limit
# statuses of a target that answered (badly): the gate judges them through the error SLI;
# any other status is a call that got no answer (unreachable, timeouts, 5xx, 429)
ANSWERED = frozenset({"ok", EMPTY, CUT, "truncated", "protocol", "too_large"})

Value = float | bool | None  # one SLI value of one case (None: not scorable)


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


COMPARATORS = ("exact", "case_insensitive", "numeric", "contains", "any")
_COMPARATOR = re.compile(
    r"^(exact|case_insensitive|contains|any|numeric(:\d+(\.\d*)?([eE][-+]?\d+)?)?)$"
)


def check_comparator(spec: str) -> str:
    """Validate a comparator name; ``numeric`` takes an absolute tolerance (``numeric:0.01``)."""
    if not isinstance(spec, str) or not _COMPARATOR.match(spec):
        raise ValueError(
            f"unknown argument comparator {spec!r}; use one of {', '.join(COMPARATORS)} "
            "(numeric:TOLERANCE for an absolute tolerance)"
        )
    return spec


class ExpectedToolCall(_Frozen):
    """A tool call a case expects (or forbids): the name, the arguments to check and, per
    argument, how to compare it (``{"query": "contains", "amount": "numeric:0.01"}``)."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    argument_match: dict[str, str] = Field(default_factory=dict)

    @field_validator("argument_match")
    @classmethod
    def _comparators(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            check_comparator(spec)
        return value


TrajectoryMode = Literal["exact", "unordered", "in_order", "superset", "any_order", "subset"]
ArgumentMode = Literal["exact", "subset", "ignore"]


class ToolMatch(_Frozen):
    """How a case's trajectory is matched; unset fields take the scorer's options."""

    mode: TrajectoryMode | None = None
    arguments: ArgumentMode | None = None


class ExpectedOutcome(_Frozen):
    """Checks on an agent's result: ``state`` is a subset the final world state must contain;
    the answer must contain every ``answer_contains`` and none of ``answer_excludes`` (both
    case-insensitive)."""

    state: dict[str, Any] = Field(default_factory=dict)
    answer_contains: tuple[str, ...] = ()
    answer_excludes: tuple[str, ...] = ()
    description: str | None = None


class UserReply(_Frozen):
    """A simulated user's rule: when the agent's answer matches ``when`` (a regular
    expression, case-insensitive), the user replies ``reply``; at most ``times`` times."""

    when: str = Field(min_length=1)
    reply: str = Field(min_length=1)
    times: int = Field(1, ge=1, le=20)

    @field_validator("when")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


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
    expected_outcome: ExpectedOutcome | str | None = None  # a string: free text, for a judge
    forbidden_tool_calls: tuple[ExpectedToolCall, ...] = ()
    tool_match: ToolMatch | None = None
    tools: tuple[str, ...] | None = None  # the tools this case's agent may call
    # a simulated user: after the input's user turns, the first rule matching the agent's
    # answer supplies the next user turn ("confirm" -> "yes"); targets that run the
    # conversation themselves (openai with an agent block) play it
    user_script: tuple[UserReply, ...] = ()
    tags: tuple[str, ...] = ()
    cluster: str | None = None

    @field_validator("forbidden_tool_calls", mode="before")
    @classmethod
    def _forbidden_names(cls, value: Any) -> Any:
        """A bare tool name forbids every call of that tool."""
        if isinstance(value, list | tuple):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

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
    """One call an agent made; ``error`` is set when the call failed."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    latency_s: float | None = None
    error: str | None = None


class Usage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _invalid(value: Any) -> bool:
    """Whether any string in ``value`` (models inside it included) holds a surrogate."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, BaseModel):
        return any(_invalid(v) for v in value.__dict__.values())
    if isinstance(value, dict):
        return any(_invalid(k) or _invalid(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_invalid(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """Models inside an Observation's fields (contexts, tool calls) as plain data, so their
    text can be checked; other values as they are."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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
    streamed: bool = False  # the answer came as a stream (so a missing TTFT means no token)
    finish_reason: str | None = None  # stop, length, content_filter, tool_calls, ...
    status: str = "ok"
    error: str | None = None
    attempts: int = 1
    # seconds per step of the target's own work (a Server-Timing header: retrieval, generation)
    steps: dict[str, float] | None = None
    notes: tuple[str, ...] | None = None  # what the harness changed in what the target sent

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        """Text from a target becomes valid Unicode here, where every Observation is made:
        lone surrogates (``"\\ud800"`` in JSON) cannot be written by any UTF-8 writer. The
        replacement is noted on the case."""
        if not isinstance(data, dict) or not _invalid(data):
            return data
        from cujeval._util.redact import valid_unicode

        fixed, n = valid_unicode({k: _plain(v) for k, v in data.items()})
        note = (
            f"{n} invalid character{'s' if n != 1 else ''} (lone surrogate code points) in "
            "the target's text replaced by U+FFFD"
        )
        return {**fixed, "notes": (*(fixed.get("notes") or ()), note)}

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def empty(self) -> bool:
        """The target answered, with nothing: a failure of the target, not missing evidence."""
        return self.status == EMPTY

    @property
    def answered(self) -> bool:
        """The target sent an answer, good or bad (see ANSWERED)."""
        return self.status in ANSWERED

    def mark_empty(self) -> Observation:
        """This observation with status ``empty`` when it carries no answer text and no tool
        call; unchanged otherwise."""
        if not self.ok or (self.answer or "").strip() or self.tool_calls:
            return self
        why = "the target returned an empty answer"
        if self.finish_reason:
            why += f" (finish_reason {self.finish_reason})"
        return self.model_copy(update={"status": EMPTY, "error": why})

    def mark_cut(self) -> Observation:
        """This observation with status ``cut`` when the model stopped at its token limit
        (``finish_reason: length``); the partial answer is kept for the reports."""
        if not self.ok or self.finish_reason != "length":
            return self
        why = "the answer was cut at the model's token limit (finish_reason length)"
        return self.model_copy(update={"status": CUT, "error": why})

    def judged(self, *, empty: str = "error", cut: str = "error") -> Observation:
        """The observation as the suite's ``empty_answer`` and ``cut_answer`` settings judge
        it: an empty or cut answer is an error of the target unless the setting says ok."""
        obs = self.mark_empty() if empty == "error" else self
        return obs.mark_cut() if cut == "error" else obs

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
