"""``http`` target: any JSON endpoint. A request template filled from the case, and a JMESPath
mapping from the response to answer, contexts, usage, model and tool calls.

Template placeholders: a string that is exactly ``"{{name}}"`` is replaced by the value itself
(lists stay lists); inside longer strings the value is formatted in. Names: ``question``,
``messages``, ``id``, ``input`` and any golden-case field (``case.tags``...).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cujeval._util.redact import register
from cujeval.errors import TargetProtocolError
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import HttpTargetSpec
from cujeval.targets.base import observation_from_mapping
from cujeval.targets.transport import Endpoint, new_session, read_json, request, scrubbing

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
_TIMING_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
MAX_TIMING_STEPS = 32


def parse_server_timing(headers: Iterable[str]) -> dict[str, float]:
    """Seconds per step from ``Server-Timing`` header values (``retrieval;dur=12.5,
    generation;dur=80`` in milliseconds, per the W3C Server Timing draft). A step named twice
    adds up; entries without a finite, non-negative ``dur`` and malformed ones are skipped: a
    timing header never fails a call. At most MAX_TIMING_STEPS steps are kept."""
    steps: dict[str, float] = {}
    for header in headers:
        for entry in header.split(","):
            name, *params = (part.strip() for part in entry.split(";"))
            if not _TIMING_NAME.fullmatch(name):
                continue
            for param in params:
                key, _, value = param.partition("=")
                if key.strip().lower() != "dur":
                    continue
                try:
                    ms = float(value.strip().strip('"'))
                except ValueError:
                    break
                if (
                    math.isfinite(ms)
                    and ms >= 0
                    and (name in steps or len(steps) < MAX_TIMING_STEPS)
                ):
                    steps[name] = steps.get(name, 0.0) + ms / 1000.0
                break
    return steps


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
        self._headers = {"Content-Type": "application/json", **spec.headers}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env, "")
            register(key)
            self._headers[spec.api_key_header] = f"{spec.api_key_prefix}{key}"
        self._endpoint = Endpoint.of(
            spec.url,
            spec,
            secrets=[*spec.headers.values(), self._headers.get(spec.api_key_header, "")],
        )
        self._shown = self._endpoint.shown
        self.description = f"http {spec.method} {self._shown}"
        self._paths = {k: _compile(v, jmespath.compile) for k, v in spec.response.items() if v}
        self._session: aiohttp.ClientSession | None = None
        self._limit = concurrency

    async def call(self, case: GoldenCase) -> Observation:
        with scrubbing(self._endpoint):
            return await self._call(case)

    async def _call(self, case: GoldenCase) -> Observation:
        if self._session is None:
            self._session = new_session(limit=self._limit)
        body = fill(self.spec.request, case)
        start = time.perf_counter()
        async with request(
            self._session,
            self._endpoint,
            self.spec.method,
            json=body if self.spec.method != "GET" else None,
            headers=self._headers,
        ) as resp:
            data = await read_json(resp, self._endpoint)
            timings = resp.headers.getall("Server-Timing", ())
        latency = time.perf_counter() - start
        mapped = self._map(data)
        if "answer" in self._paths and mapped.get("answer") is None:
            raise TargetProtocolError(
                f"the response from {self._shown} has no answer at "
                f"{self.spec.response['answer']!r}",
                url=self._shown,
            )
        obs = observation_from_mapping(
            mapped, latency_s=latency, source=f"the response from {self._shown}"
        )
        steps = parse_server_timing(timings)
        return obs.model_copy(update={"steps": steps}) if steps else obs

    def _map(self, data: Any) -> dict[str, Any]:
        from jmespath.exceptions import JMESPathError

        try:
            return {k: p.search(data) for k, p in self._paths.items()}
        except JMESPathError as exc:  # e.g. a function applied to a value of the wrong type
            raise TargetProtocolError(
                f"the response from {self._shown} does not fit the response mapping: "
                f"{' '.join(str(exc).split())[:160]}",
                url=self._shown,
            ) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
