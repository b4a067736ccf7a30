"""Why a judgement failed, in a few reasons a report can count, and a message naming the cause.

max_tokens    the judge's answer was cut at ``judge.max_tokens`` (finish_reason "length";
              instructor's IncompleteOutputException)
bad_json      the answer did not parse as the JSON the metric asked for (after instructor's
              re-asks)
timeout       no answer within ``judge.timeout_s`` (after the retries)
refused       the judge refused: an HTTP 4xx other than 401/403/404 (those end the run), a
              refusal or a content filter in place of an answer
server_error  HTTP 429/5xx after the retries
other         anything else a metric raised (the message says what)
"""

from __future__ import annotations

import json
from typing import Any

MAX_TOKENS = "max_tokens"
BAD_JSON = "bad_json"
TIMEOUT = "timeout"
REFUSED = "refused"
SERVER_ERROR = "server_error"
OTHER = "other"
REASONS = (MAX_TOKENS, BAD_JSON, TIMEOUT, REFUSED, SERVER_ERROR, OTHER)


class JudgeCallFailed(RuntimeError):
    """The judge gave no answer after the retries allowed (or refused the request);
    ``reason`` is one of :data:`REASONS`."""

    def __init__(self, message: str, *, reason: str = OTHER) -> None:
        super().__init__(message)
        self.reason = reason


def cut_message(max_tokens: int) -> str:
    return (
        f"judge output cut at max_tokens={max_tokens}; raise judge.max_tokens or use a larger model"
    )


def classify(exc: BaseException, *, max_tokens: int) -> tuple[str, str]:
    """``(reason, message)`` for an exception a judgement raised."""
    if isinstance(exc, JudgeCallFailed):
        return exc.reason, str(exc)
    name = type(exc).__name__
    completion = getattr(exc, "last_completion", None)
    finish = _finish_reason(completion)
    if name == "IncompleteOutputException" or finish == "length":
        return MAX_TOKENS, cut_message(max_tokens)
    if finish == "content_filter" or _refusal(completion):
        return REFUSED, "the judge refused to answer (content filter or refusal)"
    if name == "InstructorRetryException" or _is_parse_error(exc):
        attempts = getattr(exc, "n_attempts", None)
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        cause = exc.__cause__ or exc
        detail = f"{type(cause).__name__}: {cause}".replace("\n", " ")[:200]
        return BAD_JSON, f"the judge's answer did not parse as the expected JSON{tries}: {detail}"
    if name == "APITimeoutError":
        return TIMEOUT, "the judge timed out"
    return OTHER, f"{name}: {exc}"[:500]


def _is_parse_error(exc: BaseException) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError | json.JSONDecodeError)


def _finish_reason(completion: Any) -> str | None:
    try:
        return str(completion.choices[0].finish_reason)
    except (AttributeError, IndexError, TypeError):
        return None


def _refusal(completion: Any) -> bool:
    try:
        return bool(completion.choices[0].message.refusal)
    except (AttributeError, IndexError, TypeError):
        return False


def complete(completion: Any) -> bool:
    """Is this completion a whole answer (not cut, filtered or refused, and not empty)?"""
    if _finish_reason(completion) in ("length", "content_filter") or _refusal(completion):
        return False
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return False
    return bool((message.content or "").strip() or getattr(message, "tool_calls", None))
