"""Validated settings of the three target kinds, as written in a suite's ``targets:`` block."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(30.0, gt=0)
    max_response_bytes: int = Field(8 * 1024 * 1024, gt=0)


class OpenAITargetSpec(_Spec):
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


class HttpTargetSpec(_Spec):
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


class PythonTargetSpec(_Spec):
    """An import path ``package.module:function`` to a sync or async callable of the case."""

    kind: Literal["python"]
    callable: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


TargetSpec = Annotated[
    OpenAITargetSpec | HttpTargetSpec | PythonTargetSpec, Field(discriminator="kind")
]
