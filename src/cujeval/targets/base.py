"""The target seam: ``call(case) -> Observation``, shaped like a transport.

Targets measure latency and time to first token and normalise what the endpoint returned;
they raise TargetError subclasses on faults and leave retries to the runner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cujeval.errors import TargetProtocolError
from cujeval.records import Context, GoldenCase, Observation, ToolCall, Usage

_SECRET_PARAM = re.compile(r"(key|token|secret|sig|signature|password|auth)", re.I)


class Target(Protocol):
    """What the runner calls, once per case and attempt."""

    name: str
    description: str  # kind and redacted URL, safe to log

    async def call(self, case: GoldenCase) -> Observation: ...

    async def aclose(self) -> None: ...


def redact_url(url: str) -> str:
    """Drop credentials and secret-looking query parameters from ``url``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    prompt = raw.get("prompt_tokens", raw.get("input_tokens"))
    completion = raw.get("completion_tokens", raw.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt_tokens=int(prompt or 0), completion_tokens=int(completion or 0))


def _contexts(raw: Any) -> tuple[Context, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TargetProtocolError(f"contexts must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            out.append(Context(id=None, text=item, rank=i + 1))
        elif isinstance(item, Mapping):
            cid = item.get("id", item.get("doc_id", item.get("document_id")))
            score = item.get("score")
            rank = item.get("rank")
            out.append(
                Context(
                    id=str(cid) if cid is not None else None,
                    text=str(item.get("text", item.get("content", item.get("page_content", "")))),
                    rank=int(rank) if rank is not None else i + 1,
                    score=float(score) if score is not None else None,
                )
            )
        else:
            raise TargetProtocolError(f"contexts[{i}] must be a string or an object")
    return tuple(out)


def _tool_calls(raw: Any) -> tuple[ToolCall, ...] | None:
    if not isinstance(raw, list):
        return None
    calls = []
    for item in raw:
        if isinstance(item, Mapping):
            fn = item.get("function", item)
            args = fn.get("arguments", {})
            if isinstance(args, str):
                import json

                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    args = {"_raw": args}
            calls.append(
                ToolCall(name=str(fn.get("name", "")), arguments=args, result=item.get("result"))
            )
    return tuple(calls)


def observation_from_mapping(
    data: Mapping[str, Any], *, latency_s: float, ttft_s: float | None = None
) -> Observation:
    """Normalise a mapping with answer/contexts/usage/model/tool_calls into an Observation."""
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = str(answer)
    return Observation(
        answer=answer,
        contexts=_contexts(data.get("contexts")),
        tool_calls=_tool_calls(data.get("tool_calls")),
        usage=_usage(data.get("usage")),
        model=str(data["model"]) if data.get("model") is not None else None,
        state=dict(data["state"]) if isinstance(data.get("state"), Mapping) else None,
        latency_s=latency_s,
        ttft_s=ttft_s,
    )
