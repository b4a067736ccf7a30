"""``http`` target: any JSON endpoint. A request template filled from the case, and a JMESPath
mapping from the response to answer, contexts, usage, model and tool calls.

Template placeholders: a string that is exactly ``"{{name}}"`` is replaced by the value itself
(lists stay lists); inside longer strings the value is formatted in. Names: ``question``,
``messages``, ``id``, ``input`` and any golden-case field (``case.tags``...).
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any

from cujeval.errors import TargetProtocolError
from cujeval.records import GoldenCase, Observation
from cujeval.targets.base import observation_from_mapping, redact_url
from cujeval.targets.config import HttpTargetSpec
from cujeval.targets.transport import new_session, read_json, request

if TYPE_CHECKING:
    import aiohttp

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def _lookup(case: GoldenCase, name: str) -> Any:
    if name == "question":
        return case.question
    if name == "messages":
        return case.messages()
    key = name.removeprefix("case.")
    data = case.model_dump(mode="json")
    if key not in data:
        raise TargetProtocolError(f"request template names unknown field {{{{{name}}}}}")
    return data[key]


def fill(template: Any, case: GoldenCase) -> Any:
    """Fill ``template`` (any JSON value) with the case's fields."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template.strip())
        if whole:
            return _lookup(case, whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(_lookup(case, m.group(1))), template)
    if isinstance(template, dict):
        return {k: fill(v, case) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, case) for v in template]
    return template


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Key:
    """A JMESPath expression that is one plain key: a dict lookup, without the interpreter."""

    def __init__(self, key: str) -> None:
        self.key = key

    def search(self, data: Any) -> Any:
        return data.get(self.key) if isinstance(data, dict) else None


def _compile(expression: str, compile_jmespath: Any) -> Any:
    return _Key(expression) if _PLAIN_KEY.fullmatch(expression) else compile_jmespath(expression)


class HttpTarget:
    def __init__(self, name: str, spec: HttpTargetSpec, *, concurrency: int = 64) -> None:
        import jmespath

        self.name = name
        self.spec = spec
        self._shown = redact_url(spec.url)
        self.description = f"http {spec.method} {self._shown}"
        self._paths = {k: _compile(v, jmespath.compile) for k, v in spec.response.items() if v}
        self._session: aiohttp.ClientSession | None = None
        self._limit = concurrency

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.spec.headers}
        if self.spec.api_key_env:
            key = os.environ.get(self.spec.api_key_env, "")
            headers[self.spec.api_key_header] = f"{self.spec.api_key_prefix}{key}"
        return headers

    async def call(self, case: GoldenCase) -> Observation:
        if self._session is None:
            self._session = new_session(limit=self._limit)
        body = fill(self.spec.request, case)
        start = time.perf_counter()
        async with request(
            self._session,
            self.spec.method,
            self.spec.url,
            shown_url=self._shown,
            json=body if self.spec.method != "GET" else None,
            headers=self._headers(),
            timeout_s=self.spec.timeout_s,
        ) as resp:
            data = await read_json(
                resp, max_bytes=self.spec.max_response_bytes, shown_url=self._shown
            )
        latency = time.perf_counter() - start
        mapped = {k: p.search(data) for k, p in self._paths.items()}
        if "answer" in self._paths and mapped.get("answer") is None:
            raise TargetProtocolError(
                f"response from {self._shown} has no answer at {self.spec.response['answer']!r}",
                url=self._shown,
            )
        return observation_from_mapping(mapped, latency_s=latency)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
