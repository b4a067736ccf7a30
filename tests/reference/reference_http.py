"""Small blocking HTTP helpers (urllib) for the reference-service tests."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CITATION = re.compile(r"\s*\[(kb-\d+)\]([.!?])")


def get_json(url: str) -> tuple[int, Any]:
    with DIRECT.open(url, timeout=30) as response:
        return response.status, json.load(response)


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST a JSON body; returns (status, parsed body) for 2xx and error statuses alike."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with DIRECT.open(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def post_stream(url: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    """POST and collect the ``data:`` payloads of an SSE response, in order."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with DIRECT.open(request, timeout=60) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            lines = [raw.decode().rstrip("\n") for raw in response]
            return response.status, [ln[len("data: ") :] for ln in lines if ln.startswith("data: ")]
    except urllib.error.HTTPError as exc:
        return exc.code, [exc.read().decode()]


def chat_body(question: str, **extra: Any) -> dict[str, Any]:
    return {"model": "any", "messages": [{"role": "user", "content": question}], **extra}


def cited_sentences(answer: str) -> list[tuple[str, str]]:
    """``"A [kb-1]. B [kb-2]."`` -> ``[("A.", "kb-1"), ("B.", "kb-2")]``."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in CITATION.finditer(answer):
        out.append((answer[start : match.start()].strip() + match.group(2), match.group(1)))
        start = match.end()
    assert not answer[start:].strip(), f"uncited text at the end of {answer!r}"
    return out
