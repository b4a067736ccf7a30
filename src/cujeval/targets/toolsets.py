"""The tools an ``openai`` agent target runs its loop against, one fresh set per case.

Python: ``tools: package.module:function`` names a factory called with the GoldenCase; it
returns an object with ``schemas`` (a list of OpenAI function schemas ``{"name",
"description", "parameters"}``, or a method returning one), ``call(name, arguments)`` (sync or
async; its return value is the tool result, an exception is the call's error, fed back to the
model) and, optionally, ``state()`` (the final state of the world) and ``close()``.

HTTP: ``tools_url`` names a tool server. ``GET tools_url`` lists the schemas;
``POST tools_url/NAME`` with ``{"world": W, "arguments": {...}}`` answers ``{"result": ...}``
or ``{"error": "..."}``; ``GET state_url`` (``{world}`` replaced by W), when given, returns the
final state.
W is new for every case and attempt, so each starts from a fresh world. A tool server that
fails (unreachable, a non-2xx status) fails the case: that is not the agent's fault.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from cujeval.errors import InputError, TargetError, TargetProtocolError
from cujeval.spec.records import GoldenCase
from cujeval.targets.transport import Endpoint, new_session, read_json, request

if TYPE_CHECKING:
    import aiohttp

    from cujeval.spec.targets import AgentLoopSpec, OpenAITargetSpec


class ToolFailed(Exception):
    """A tool refused the call; the message goes back to the model as the call's error."""


class ToolSet(Protocol):
    """One case's tools."""

    names: frozenset[str]

    def schemas(self) -> list[dict[str, Any]]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> Any: ...

    async def state(self) -> dict[str, Any] | None: ...

    async def aclose(self) -> None: ...


def tool_specs(schemas: Any, where: str) -> list[dict[str, Any]]:
    """``schemas`` as the request's ``tools`` list; bare function schemas are wrapped."""
    if not isinstance(schemas, list) or not schemas:
        raise TargetProtocolError(f"{where}: the tool schemas are not a non-empty list")
    out = []
    for i, s in enumerate(schemas):
        fn = s.get("function", s) if isinstance(s, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise TargetProtocolError(f"{where}: tool schema {i} has no name")
        out.append({"type": "function", "function": fn})
    return out


class PythonToolSet:
    """Adapter over what a ``module:function`` factory returned."""

    def __init__(self, impl: Any, where: str) -> None:
        raw = impl.schemas() if callable(getattr(impl, "schemas", None)) else impl.schemas
        self._schemas = tool_specs(raw, where)
        self.names = frozenset(s["function"]["name"] for s in self._schemas)
        self._impl = impl

    def schemas(self) -> list[dict[str, Any]]:
        return self._schemas

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        try:
            out = self._impl.call(name, arguments)
            return await out if inspect.isawaitable(out) else out
        except Exception as exc:  # the tool's own failure: the model sees it
            raise ToolFailed(str(exc) or type(exc).__name__) from None

    async def state(self) -> dict[str, Any] | None:
        fn = getattr(self._impl, "state", None)
        if fn is None:
            return None
        try:
            out = fn()
            out = await out if inspect.isawaitable(out) else out
        except Exception as exc:
            raise TargetError(f"the tools' state() failed: {type(exc).__name__}: {exc}") from None
        return dict(out) if isinstance(out, dict) else None

    async def aclose(self) -> None:
        fn = getattr(self._impl, "close", None)
        if fn is not None:
            out = fn()
            if inspect.isawaitable(out):
                await out


def load_factory(path: str, field: str = "agent.tools") -> Callable[[GoldenCase], Any]:
    """The callable at ``package.module:function``, found where a ``python`` target's would
    be; InputError (exit 2, saying where it looked, naming the suite ``field``) when it
    cannot be loaded."""
    from cujeval.targets.python import load_callable

    try:
        return load_callable(path)
    except InputError as exc:
        raise InputError(exc.message, field=field) from None


class HttpTools:
    """A tool server shared by every case of a target; ``for_case`` opens one case's world."""

    def __init__(self, spec: AgentLoopSpec, target: OpenAITargetSpec, *, limit: int) -> None:
        assert spec.tools_url is not None
        self.base = spec.tools_url.rstrip("/")
        self.state_url = spec.state_url
        self._endpoint = Endpoint.of(self.base, target)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._schemas: list[dict[str, Any]] | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(limit=self._limit)
        return self._session

    def endpoint(self, url: str) -> Endpoint:
        e = self._endpoint
        return Endpoint(url, e.timeout_s, e.max_bytes, e.redirects, e.public_params, e.secrets)

    async def json(self, method: str, url: str, body: Any = None) -> Any:
        endpoint = self.endpoint(url)
        async with request(self.session(), endpoint, method, json=body) as resp:
            return await read_json(resp, endpoint)

    async def for_case(self, case: GoldenCase) -> HttpToolSet:
        if self._schemas is None:
            self._schemas = tool_specs(await self.json("GET", self.base), self.base)
        return HttpToolSet(self, self._schemas, f"{case.id}~{uuid.uuid4().hex[:12]}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpToolSet:
    def __init__(self, server: HttpTools, schemas: list[dict[str, Any]], world: str) -> None:
        self._server = server
        self._schemas = schemas
        self.names = frozenset(s["function"]["name"] for s in schemas)
        self.world = world

    def schemas(self) -> list[dict[str, Any]]:
        return self._schemas

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        url = f"{self._server.base}/{quote(name, safe='')}"
        out = await self._server.json("POST", url, {"world": self.world, "arguments": arguments})
        if isinstance(out, dict) and out.get("error") is not None:
            raise ToolFailed(str(out["error"]))
        return out.get("result") if isinstance(out, dict) else out

    async def state(self) -> dict[str, Any] | None:
        if self._server.state_url is None:
            return None
        url = self._server.state_url.replace("{world}", quote(self.world, safe=""))
        out = await self._server.json("GET", url)
        return out if isinstance(out, dict) else None

    async def aclose(self) -> None:
        return None
