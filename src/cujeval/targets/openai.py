"""``openai`` target: chat completions of any OpenAI-compatible server, streamed so time to
first token is measured; ``usage`` read for cost; retrieved contexts read from an extra
top-level key (``contexts_path``, JMESPath) when the server sends them."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from cujeval.errors import TargetProtocolError
from cujeval.records import GoldenCase, Observation
from cujeval.targets.base import observation_from_mapping, redact_url
from cujeval.targets.config import OpenAITargetSpec
from cujeval.targets.transport import new_session, read_json, request

if TYPE_CHECKING:
    import aiohttp


class OpenAITarget:
    def __init__(self, name: str, spec: OpenAITargetSpec, *, concurrency: int = 64) -> None:
        import jmespath

        self.name = name
        self.spec = spec
        self._url = spec.base_url.rstrip("/") + "/chat/completions"
        self._shown = redact_url(self._url)
        self.description = f"openai {spec.model} at {self._shown}"
        self._contexts = jmespath.compile(spec.contexts_path) if spec.contexts_path else None
        self._session: aiohttp.ClientSession | None = None
        self._limit = concurrency

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.spec.headers}
        if self.spec.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ.get(self.spec.api_key_env, '')}"
        return headers

    def _body(self, case: GoldenCase) -> dict[str, Any]:
        messages = case.messages()
        if self.spec.system_prompt:
            messages = [{"role": "system", "content": self.spec.system_prompt}, *messages]
        body: dict[str, Any] = {**self.spec.params, "model": self.spec.model, "messages": messages}
        if self.spec.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def call(self, case: GoldenCase) -> Observation:
        if self._session is None:
            self._session = new_session(limit=self._limit)
        start = time.perf_counter()
        async with request(
            self._session,
            "POST",
            self._url,
            shown_url=self._shown,
            json=self._body(case),
            headers=self._headers(),
            timeout_s=self.spec.timeout_s,
        ) as resp:
            if self.spec.stream:
                data, ttft = await self._read_stream(resp, start)
            else:
                raw = await read_json(
                    resp, max_bytes=self.spec.max_response_bytes, shown_url=self._shown
                )
                data, ttft = self._from_completion(raw), None
        latency = time.perf_counter() - start
        return observation_from_mapping(data, latency_s=latency, ttft_s=ttft)

    def _extra_contexts(self, raw: Any) -> Any:
        return self._contexts.search(raw) if self._contexts is not None else None

    def _from_completion(self, raw: Any) -> dict[str, Any]:
        try:
            message = raw["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise TargetProtocolError(
                f"response from {self._shown} has no choices[0].message", url=self._shown
            ) from None
        return {
            "answer": message.get("content") or "",
            "tool_calls": message.get("tool_calls"),
            "usage": raw.get("usage"),
            "model": raw.get("model"),
            "contexts": self._extra_contexts(raw),
        }

    async def _read_stream(
        self, resp: aiohttp.ClientResponse, start: float
    ) -> tuple[dict[str, Any], float | None]:
        parts: list[str] = []
        ttft: float | None = None
        out: dict[str, Any] = {}
        size = 0
        done = False
        async for raw_line in resp.content:
            size += len(raw_line)
            if size > self.spec.max_response_bytes:
                raise TargetProtocolError(
                    f"stream from {self._shown} exceeds {self.spec.max_response_bytes} bytes",
                    url=self._shown,
                )
            line = raw_line.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(payload)
            except json.JSONDecodeError:
                raise TargetProtocolError(
                    f"malformed stream chunk from {self._shown}: {payload[:80]!r}",
                    url=self._shown,
                ) from None
            if not isinstance(chunk, dict):
                raise TargetProtocolError(f"stream chunk from {self._shown} is not an object")
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    if ttft is None:
                        ttft = time.perf_counter() - start
                    parts.append(text)
            if chunk.get("usage"):
                out["usage"] = chunk["usage"]
            if chunk.get("model"):
                out["model"] = chunk["model"]
            contexts = self._extra_contexts(chunk)
            if contexts is not None:
                out["contexts"] = contexts
        if not done and not parts:
            raise TargetProtocolError(f"stream from {self._shown} ended without data")
        out["answer"] = "".join(parts)
        return out, ttft

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
