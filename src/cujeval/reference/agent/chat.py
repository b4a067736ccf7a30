"""The reference agent's policy as an OpenAI-compatible chat model that calls tools.

``POST /v1/chat/completions`` takes a conversation (system, user, assistant and ``tool``
messages) and answers with the policy's next step: one tool call (``finish_reason:
tool_calls``) or the reply to the last user turn (``stop``). The caller runs the tools (an
``openai`` target with an ``agent:`` block does), so the model never touches a world itself.

The policy is deterministic, so the next step is found by replay: every user turn so far is
played on a scratch copy of the seed store, and the last turn's calls are compared with the tool
results the conversation already holds (k results: the next step is the turn's call k, or the
reply once all were made). A caller whose tools act on a fresh seed world sees the same
results the scratch world gave. Decision faults (wrong tool, wrong argument, skipped
confirmation, extra steps, forbidden refund) apply as in ``POST /agent``; ``tool_errors`` is
the tools' fault, not the model's, and does not apply here; ``latency_ms`` is added once per
completion. With ``stream: true`` the answer is sent as server-sent events: the tool call's
arguments split over two deltas, the reply over several, usage in a last chunk when
``stream_options.include_usage`` asks for it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cujeval.reference.agent.config import AgentConfig
from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.policy import Conversation, Usage
from cujeval.reference.agent.store import World
from cujeval.reference.tokens import count_tokens


@dataclass(frozen=True)
class Step:
    """The model's next output: a tool call (``name`` and ``arguments``) or a reply."""

    reply: str | None = None
    name: str | None = None
    arguments: dict[str, Any] | None = None


def _turns(messages: list[dict[str, Any]]) -> tuple[list[str], int]:
    """The user turns, and the tool results that follow the last of them."""
    turns: list[str] = []
    results = 0
    for m in messages:
        role = m.get("role")
        if role == "user" and str(m.get("content") or "").strip():
            turns.append(str(m["content"]).strip())
            results = 0
        elif role == "tool":
            results += 1
    return turns, results


async def next_step(
    messages: list[dict[str, Any]], *, kb: KnowledgeBase, config: AgentConfig
) -> Step:
    """What the policy does next in ``messages`` (ValueError: no user turn to answer)."""
    turns, done = _turns(messages)
    if not turns:
        raise ValueError("messages must hold a non-empty user turn")
    faults = dataclasses.replace(config.decide("\x1e".join(turns)), tool_errors=False)
    conversation = Conversation(
        world=World.fresh(f"replay-{uuid.uuid4().hex[:8]}"),
        kb=kb,
        config=dataclasses.replace(config, latency_ms=0.0),
        faults=faults,
        usage=Usage(system_tokens=0),
    )
    for text in turns[:-1]:
        await conversation.turn(text)
    before = len(conversation.calls)
    reply = await conversation.turn(turns[-1])
    calls = conversation.calls[before:]
    if done < len(calls):
        return Step(name=calls[done]["name"], arguments=dict(calls[done]["arguments"]))
    return Step(reply=reply)


def usage(messages: list[dict[str, Any]], tools: Any, step: Step) -> dict[str, int]:
    """Tokens read (every message and the tool schemas) and written (the step)."""
    prompt = sum(count_tokens(str(m.get("content") or "")) for m in messages)
    prompt += count_tokens(json.dumps(tools)) if tools else 0
    out = step.reply if step.reply is not None else json.dumps(step.arguments)
    written = count_tokens(out) + (count_tokens(step.name) if step.name else 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": written,
        "total_tokens": prompt + written,
    }


def _tool_call(step: Step, arguments: str) -> dict[str, Any]:
    return {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {"name": step.name, "arguments": arguments},
    }


def completion(step: Step, model: str, tokens: dict[str, int]) -> dict[str, Any]:
    """The whole answer as one chat.completion object."""
    message: dict[str, Any] = {"role": "assistant", "content": step.reply}
    if step.name is not None:
        message["tool_calls"] = [_tool_call(step, json.dumps(step.arguments))]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "stop" if step.name is None else "tool_calls",
            }
        ],
        "usage": tokens,
    }


def stream(step: Step, model: str, tokens: dict[str, int] | None) -> Iterator[bytes]:
    """The answer as server-sent events of chat.completion.chunk objects, ending [DONE]."""
    cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield event({"role": "assistant", "content": ""})
    if step.name is not None:
        text = json.dumps(step.arguments)
        cut = len(text) // 2
        first = _tool_call(step, text[:cut])
        yield event({"tool_calls": [{"index": 0, **first}]})
        yield event({"tool_calls": [{"index": 0, "function": {"arguments": text[cut:]}}]})
        yield event({}, "tool_calls")
    else:
        words = (step.reply or "").split(" ")
        for i in range(0, len(words), 8):
            piece = " ".join(words[i : i + 8])
            yield event({"content": piece if i == 0 else " " + piece})
        yield event({}, "stop")
    if tokens is not None:
        done = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": tokens,
        }
        yield f"data: {json.dumps(done)}\n\n".encode()
    yield b"data: [DONE]\n\n"
