"""Validated settings of the three target kinds, as written in a suite's ``targets:`` block."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from cujeval.spec.records import GoldenCase

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|min|minute|h|hour)\s*$")
_PER = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}


def per_second(rate: str) -> float:
    """``"600/min"`` -> 10.0 calls per second."""
    m = _RATE.match(rate)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"rate_limit {rate!r}: expected N/s, N/min or N/h with N > 0")
    return float(m.group(1)) / _PER[m.group(2)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(30.0, gt=0)
    max_response_bytes: int = Field(8 * 1024 * 1024, gt=0)
    rate_limit: str | None = None  # client-side bound on calls started, e.g. "600/min"

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            per_second(value)
        return value


def _http_url(value: str) -> str:
    """An absolute http(s) URL; the message never repeats the value (it may hold a secret)."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("must be an absolute http:// or https:// URL with a host")
    return value


class _HttpSpec(_Spec):
    """Settings of the targets that speak HTTP."""

    redirects: Literal["none", "same-origin"] = "none"  # cross-origin: never
    public_params: list[str] = Field(default_factory=list)  # query values shown in reports


class AgentLoopSpec(BaseModel):
    """An ``openai`` target's ``agent:`` block: cujeval runs the tool loop itself. Tools come
        from a Python factory (``tools: package.module:function``, called with the case, returning
        a fresh tool set per case) or an HTTP tool server (``tools_url``; see
        cujeval.targets.toolsets). ``max_steps`` bounds the model calls of a case; a case that
        needs more is an error, as is one model message asking for more than ``max_tool_calls``
    calls at once (a runaway model could otherwise run thousands of tools a step). After the
    first tool call a failed case is never retried unless
        ``idempotent``. ``malformed``: a call of an unknown tool or with arguments that are not
        JSON ends the case as an error (``error``), or goes back to the model as the call's error
        (``feed_back``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tools: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    tools_url: str | None = None
    state_url: str | None = None  # GET, "{world}" replaced: the world's final state
    max_steps: int = Field(10, ge=1, le=200)
    max_tool_calls: int = Field(64, ge=1, le=10_000)  # in one model message
    max_user_turns: int = Field(10, ge=1, le=100)  # user turns a case may play, script included
    idempotent: bool = False
    malformed: Literal["error", "feed_back"] = "error"
    tool_choice: Any = None

    @field_validator("tools_url", "state_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="after")
    def _one_source(self) -> AgentLoopSpec:
        if (self.tools is None) == (self.tools_url is None):
            raise ValueError("give exactly one of tools (module:function) and tools_url")
        return self


class OpenAITargetSpec(_HttpSpec):
    """Any OpenAI-compatible chat-completions server; streamed to measure time to first token."""

    kind: Literal["openai"]
    base_url: str
    model: str
    api_key_env: str | None = None
    stream: bool = True
    system_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    contexts_path: str | None = "contexts"
    headers: dict[str, str] = Field(default_factory=dict)
    agent: AgentLoopSpec | None = None  # run the tool loop here against the suite's tools

    _url = field_validator("base_url")(_http_url)


class HttpTargetSpec(_HttpSpec):
    """Any JSON endpoint: a request template and a JMESPath response mapping."""

    kind: Literal["http"]
    url: str
    method: Literal["POST", "GET", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    api_key_env: str | None = None
    api_key_header: str = "Authorization"
    api_key_prefix: str = "Bearer "
    request: Any = Field(default_factory=lambda: {"question": "{{question}}"})
    response: dict[str, str] = Field(
        default_factory=lambda: {
            "answer": "answer",
            "contexts": "contexts",
            "usage": "usage",
            "model": "model",
            "tool_calls": "tool_calls",
        }
    )

    _url = field_validator("url")(_http_url)

    @field_validator("request")
    @classmethod
    def _request(cls, value: Any) -> Any:
        """Every ``{{name}}`` in the template names something a golden case has: a typo is
        bad input now, not an error on every call."""
        for name in _placeholders(value):
            key = name.removeprefix("case.")
            if key not in TEMPLATE_NAMES:
                close = difflib.get_close_matches(key, sorted(TEMPLATE_NAMES), n=1)
                hint = f"; did you mean {{{{{close[0]}}}}}?" if close else ""
                raise ValueError(
                    f"the template names {{{{{name}}}}}, which a golden case does not have{hint} "
                    f"(names: {', '.join(sorted(TEMPLATE_NAMES))})"
                )
        return value

    @field_validator("response")
    @classmethod
    def _response(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(RESPONSE_FIELDS))
        if unknown:
            raise ValueError(
                f"maps {unknown[0]!r}, which is not an observation field "
                f"(fields: {', '.join(RESPONSE_FIELDS)})"
            )
        return value


# what a response mapping may fill (cujeval.targets.base.observation_from_mapping reads these)
RESPONSE_FIELDS = ("answer", "contexts", "usage", "model", "tool_calls", "finish_reason", "state")
# what a request template may name: the case's question and messages, and its own fields
TEMPLATE_NAMES = frozenset({"question", "messages", *GoldenCase.model_fields})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def _placeholders(template: Any) -> list[str]:
    if isinstance(template, str):
        return _PLACEHOLDER.findall(template)
    if isinstance(template, dict):
        return [n for v in template.values() for n in _placeholders(v)]
    if isinstance(template, list):
        return [n for v in template for n in _placeholders(v)]
    return []


class PythonTargetSpec(_Spec):
    """An import path ``package.module:function`` to a sync or async callable of the case."""

    kind: Literal["python"]
    callable: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class PluginTargetSpec(BaseModel):
    """A target kind registered by a plugin (``cujeval.targets`` entry points or
    ``cujeval.targets.register_target``); its other settings go to the plugin's factory."""

    model_config = ConfigDict(frozen=True, extra="allow")

    kind: str
    timeout_s: float = Field(30.0, gt=0)


BUILTIN_KINDS = ("openai", "http", "python")


def _kind_tag(value: Any) -> str | None:
    """The union member for a target mapping: a built-in kind, or ``plugin`` for a kind a
    plugin registered; None (an error naming the known kinds) otherwise."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    if kind in BUILTIN_KINDS:
        return str(kind)
    from cujeval._util.registry import TARGET_KINDS

    return "plugin" if isinstance(kind, str) and TARGET_KINDS.get(kind) is not None else None


TargetSpec = Annotated[
    Annotated[OpenAITargetSpec, Tag("openai")]
    | Annotated[HttpTargetSpec, Tag("http")]
    | Annotated[PythonTargetSpec, Tag("python")]
    | Annotated[PluginTargetSpec, Tag("plugin")],
    Discriminator(
        _kind_tag,
        custom_error_type="unknown_target_kind",
        custom_error_message="unknown target kind: use openai, http or python, or a kind a "
        "plugin registers (cujeval.targets entry points)",
    ),
]
