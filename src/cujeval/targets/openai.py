"""``openai`` target: chat completions of any OpenAI-compatible server, streamed so time to
first token is measured; ``usage`` read for cost; retrieved contexts read from an extra
top-level key (``contexts_path``, JMESPath) when the server sends them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cujeval._util.redact import register
from cujeval.errors import TargetProtocolError, TargetTruncated
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import OpenAITargetSpec
from cujeval.targets.base import observation_from_mapping
from cujeval.targets.transport import (
    Endpoint,
    iter_sse,
    new_session,
    parse_json,
    read_json,
    request,
    scrubbing,
)

if TYPE_CHECKING:
    import aiohttp


@dataclass(frozen=True)
class Completion:
    """One chat-completions call: what it said (``data``: answer, tool_calls, usage, model,
    finish_reason, contexts) and when: ``ttft_s`` to the first content token, ``first_s`` to
    the first content or tool-call delta (both None when not streamed)."""

    data: dict[str, Any]
    latency_s: float
    ttft_s: float | None
    first_s: float | None
    streamed: bool


class OpenAITarget:
    def __init__(self, name: str, spec: OpenAITargetSpec, *, concurrency: int = 64) -> None:
        import jmespath

        self.name = name
        self.spec = spec
        self._headers = {"Content-Type": "application/json", **spec.headers}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env, "")
            register(key)
            self._headers["Authorization"] = f"Bearer {key}"
        url = spec.base_url.rstrip("/") + "/chat/completions"
        secrets = [*spec.headers.values(), self._headers.get("Authorization", "")]
        self._endpoint = Endpoint.of(url, spec, secrets=secrets)
        self._shown = self._endpoint.shown
        self.description = f"openai {spec.model} at {self._shown}"
        self._contexts = jmespath.compile(spec.contexts_path) if spec.contexts_path else None
        self._session: aiohttp.ClientSession | None = None
        self._limit = concurrency

    def _body(self, case: GoldenCase) -> dict[str, Any]:
        messages: list[dict[str, Any]] = list(case.messages())
        if self.spec.system_prompt:
            messages = [{"role": "system", "content": self.spec.system_prompt}, *messages]
        return self.body(messages)

    def body(self, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """The request body for ``messages`` (plus ``extra`` keys such as ``tools``)."""
        body: dict[str, Any] = {
            **self.spec.params,
            **extra,
            "model": self.spec.model,
            "messages": messages,
        }
        if self.spec.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def call(self, case: GoldenCase) -> Observation:
        with scrubbing(self._endpoint):
            return await self._call(case)

    async def _call(self, case: GoldenCase) -> Observation:
        step = await self.complete(self._body(case))
        return observation_from_mapping(
            step.data,
            latency_s=step.latency_s,
            ttft_s=step.ttft_s,
            source=f"the response from {self._shown}",
            streamed=step.streamed,
        )

    async def complete(self, body: dict[str, Any]) -> Completion:
        """One chat-completions call: the answer, tool calls (assembled from stream deltas),
        usage, model and finish_reason as a mapping, with its timings."""
        if self._session is None:
            self._session = new_session(limit=self._limit)
        start = time.perf_counter()
        async with request(
            self._session, self._endpoint, "POST", json=body, headers=self._headers
        ) as resp:
            streamed = self.spec.stream and resp.content_type != "application/json"
            if streamed:
                data, ttft, first = await self._read_stream(resp, start)
            else:  # not streamed, or a server that answers a stream request in one piece
                data = self._from_completion(await read_json(resp, self._endpoint))
                ttft = first = None
        latency = time.perf_counter() - start
        return Completion(data, latency, ttft, first, streamed)

    def _bad(self, problem: str) -> TargetProtocolError:
        return TargetProtocolError(f"the response from {self._shown}: {problem}", url=self._shown)

    def _extra_contexts(self, raw: Any) -> Any:
        from jmespath.exceptions import JMESPathError

        if self._contexts is None:
            return None
        try:
            return self._contexts.search(raw)
        except JMESPathError:
            raise self._bad(f"contexts_path {self.spec.contexts_path!r} does not fit") from None

    def _from_completion(self, raw: Any) -> dict[str, Any]:
        choices = raw.get("choices") if isinstance(raw, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(choice, dict) or not isinstance(message, dict):
            raise self._bad("no choices[0].message object")
        assert isinstance(raw, dict)
        return {
            "answer": _text(message.get("content"), self._bad),
            "tool_calls": message.get("tool_calls"),
            "usage": raw.get("usage"),
            "model": raw.get("model"),
            "contexts": self._extra_contexts(raw),
            "finish_reason": choice.get("finish_reason"),
        }

    async def _read_stream(
        self, resp: aiohttp.ClientResponse, start: float
    ) -> tuple[dict[str, Any], float | None, float | None]:
        """Accumulate a chat-completions stream. It must end with ``[DONE]`` or carry a
        ``finish_reason``: a stream that just stops is truncated, never an answer."""
        stream = _Stream()
        async with aclosing(iter_sse(resp, self._endpoint)) as events:
            async for payload in events:
                if payload.strip() == "[DONE]":
                    stream.done = True
                    break
                if not payload.strip():
                    continue  # an empty event: a keep-alive
                chunk = parse_json(payload, self._endpoint, what="stream event")
                content = stream.add(chunk, self._bad)
                if stream.first is None and (content or stream.tools):
                    stream.first = time.perf_counter() - start
                if content and stream.ttft is None:
                    stream.ttft = time.perf_counter() - start
                contexts = self._extra_contexts(chunk)
                if contexts is not None:
                    stream.out["contexts"] = contexts
        if not stream.done and stream.out.get("finish_reason") is None:
            raise TargetTruncated(
                f"the stream from {self._shown} ended without [DONE] or a finish_reason "
                f"after {stream.n_content} content chunks",
                url=self._shown,
            )
        return stream.result(), stream.ttft, stream.first

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _text(content: Any, bad: Callable[[str], TargetProtocolError]) -> str:
    """Message content: a string, null, or a list of ``{"type": "text", "text": ...}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    raise bad(f"message content is a {type(content).__name__}, not text")


class _Stream:
    """What a stream has said so far: content of choice 0, tool-call fragments, usage, model,
    the last finish_reason, whether ``[DONE]`` came."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.out: dict[str, Any] = {}
        self.done = False
        self.ttft: float | None = None
        self.first: float | None = None  # seconds to the first content or tool-call delta
        self.n_content = 0

    def add(self, chunk: Any, bad: Callable[[str], TargetProtocolError]) -> bool:
        """Take one event; True when it carried answer content."""
        if not isinstance(chunk, dict):
            raise bad("a stream event is not an object")
        choices = chunk.get("choices") or []
        if not choices and isinstance(chunk.get("error"), dict | str):
            error = chunk["error"]
            message = error.get("message", "") if isinstance(error, dict) else error
            raise bad(f"the stream reported an error: {str(message)[:160]}")
        if not isinstance(choices, list):
            raise bad("a stream event's choices are not a list")
        content = False
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta") or {}, dict):
                raise bad("a stream event's choice or delta is not an object")
            if choice.get("index", 0) != 0:
                continue  # n > 1: the first choice is the answer
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text is not None and not isinstance(text, str):
                raise bad(f"a stream delta's content is a {type(text).__name__}, not text")
            if text:
                self.parts.append(text)
                self.n_content += 1
                content = True
            self._add_tools(delta.get("tool_calls"), bad)
            if choice.get("finish_reason") is not None:
                self.out["finish_reason"] = choice["finish_reason"]
        if chunk.get("usage"):
            self.out["usage"] = chunk["usage"]
        if chunk.get("model"):
            self.out["model"] = chunk["model"]
        return content

    def _add_tools(self, deltas: Any, bad: Callable[[str], TargetProtocolError]) -> None:
        if deltas is None:
            return
        if not isinstance(deltas, list):
            raise bad("a stream delta's tool_calls are not a list")
        for d in deltas:
            fn = d.get("function") if isinstance(d, dict) else None
            if not isinstance(d, dict) or not isinstance(fn or {}, dict):
                raise bad("a stream delta has a tool call that is not an object")
            index = d.get("index", 0)
            call = self.tools.setdefault(
                index if isinstance(index, int) else 0,
                {"id": None, "function": {"name": "", "arguments": ""}},
            )
            call["id"] = d.get("id") or call["id"]
            for key in ("name", "arguments"):
                piece = (fn or {}).get(key)
                if isinstance(piece, str):
                    call["function"][key] += piece

    def result(self) -> dict[str, Any]:
        out = dict(self.out)
        out["answer"] = "".join(self.parts)
        if self.tools:
            out["tool_calls"] = [self.tools[i] for i in sorted(self.tools)]
        return out
