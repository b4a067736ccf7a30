"""The target seam: ``call(case) -> Observation``, shaped like a transport.

Targets measure latency and time to first token and normalise what the endpoint returned;
they raise TargetError subclasses on faults and leave retries to the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from cujeval._util.redact import redact_url
from cujeval.errors import TargetProtocolError
from cujeval.spec.records import Context, GoldenCase, Observation, ToolCall, Usage


class Target(Protocol):
    """What the runner calls, once per case and attempt."""

    name: str
    description: str  # kind and redacted URL, safe to log

    async def call(self, case: GoldenCase) -> Observation: ...

    async def aclose(self) -> None: ...


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
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            calls.append(ToolCall(name="", arguments={"_raw": item}))  # scorers say: malformed
            continue
        fn = item.get("function", item)
        if not isinstance(fn, Mapping):
            raise TargetProtocolError(f"tool_calls[{i}].function must be an object")
        args = fn.get("arguments") or {}
        if isinstance(args, str):
            import json

            try:
                args = json.loads(args)
            except (ValueError, RecursionError):
                args = {"_raw": args}
        if not isinstance(args, dict):
            args = {"_raw": args}
        latency = item.get("latency_s")
        error = item.get("error")
        calls.append(
            ToolCall(
                name=str(fn.get("name", "")),
                arguments=args,
                result=item.get("result"),
                latency_s=float(latency) if isinstance(latency, int | float) else None,
                error=str(error) if error is not None else None,
            )
        )
    return tuple(calls)


def observation_from_mapping(
    data: Mapping[str, Any],
    *,
    latency_s: float,
    ttft_s: float | None = None,
    source: str = "the response",
    streamed: bool = False,
) -> Observation:
    """Normalise a mapping with answer/contexts/usage/model/tool_calls/finish_reason into an
    Observation. Values of the wrong shape are a TargetProtocolError naming ``source``."""
    from pydantic import ValidationError

    try:
        return _observation(data, latency_s, ttft_s, streamed)
    except TargetProtocolError as exc:
        raise TargetProtocolError(f"{source}: {exc}", url=exc.url) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise TargetProtocolError(f"{source}: {where}: {err['msg']}") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise TargetProtocolError(
            f"{source}: a value of the wrong type: {str(exc)[:120]}"
        ) from None


def _observation(
    data: Mapping[str, Any], latency_s: float, ttft_s: float | None, streamed: bool = False
) -> Observation:
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = str(answer)
    finish = data.get("finish_reason")
    return Observation(
        answer=answer,
        contexts=_contexts(data.get("contexts")),
        tool_calls=_tool_calls(data.get("tool_calls")),
        usage=_usage(data.get("usage")),
        model=str(data["model"]) if data.get("model") is not None else None,
        state=dict(data["state"]) if isinstance(data.get("state"), Mapping) else None,
        finish_reason=str(finish) if finish is not None else None,
        latency_s=latency_s,
        ttft_s=ttft_s,
        streamed=streamed,
    )


__all__ = ["Target", "observation_from_mapping", "redact_url"]  # redact_url: re-exported
