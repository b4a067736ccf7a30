"""OpenAI chat-completions shapes: the full object, the stream chunks, SSE framing.

Both shapes carry one extra top-level key, ``contexts``, so a client can score retrieval.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

_WORD = re.compile(r"\S+\s*")


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    *, model: str, answer: str, contexts: list[dict[str, Any]], tokens: dict[str, int]
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
        ],
        "usage": tokens,
        "contexts": contexts,
    }


def split_words(text: str, per_chunk: int = 3) -> list[str]:
    """Content deltas of ``per_chunk`` words each (whitespace kept, so they join back)."""
    words = _WORD.findall(text)
    return ["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)]


def chunks(
    *, model: str, answer: str, contexts: list[dict[str, Any]], tokens: dict[str, int]
) -> Iterator[dict[str, Any]]:
    """``chat.completion.chunk`` objects: role, content deltas, stop, then usage + contexts."""
    base: dict[str, Any] = {
        "id": completion_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def choice(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield choice({"role": "assistant", "content": ""})
    for piece in split_words(answer):
        yield choice({"content": piece})
    yield choice({}, "stop")
    yield {**base, "choices": [], "usage": tokens, "contexts": contexts}


def sse(payload: dict[str, Any] | str) -> bytes:
    """One server-sent event: ``data: <json>`` (or a literal such as ``[DONE]``)."""
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()
