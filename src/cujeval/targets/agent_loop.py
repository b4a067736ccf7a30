"""``openai`` target with an ``agent:`` block: cujeval runs the tool loop of an
OpenAI-compatible chat model against the suite's tools, one fresh tool set per case.

A case's user turns are played one at a time (scripted assistant turns in the input are the
dataset's account of the conversation; the model writes its own); after the last one, the
case's ``user_script`` may answer the agent (see GoldenCase.user_script). Within a turn the
model is called until it answers without tool calls; each tool call runs, and its result, or
its error as ``{"error": ...}``, goes back as a ``tool`` message.

The Observation has the shape the ``http`` agent target gives: the last answer, every tool
call with arguments, result, error and seconds, the final world state, usage summed over the
model calls, the whole task's latency, and the first model call's time to its first delta.
``steps`` holds seconds per model call (``model.1``...) and the totals ``model`` and ``tools``.

Failures: before the first tool call a fault raises, so the runner may retry. After it, the
case ends as an error holding its partial trajectory, never retried (the calls may have had
side effects) unless the target is ``idempotent``. A call past ``max_steps`` model calls, a
model message asking for more than ``max_tool_calls`` tool calls (none of them is run), and
(with ``malformed: error``) a call of an unknown tool or with arguments that are not a JSON
object, end the case as an error with a message naming the step.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from cujeval.errors import TargetError, TargetHTTPError
from cujeval.spec.records import GoldenCase, Observation, ToolCall, Usage
from cujeval.spec.targets import OpenAITargetSpec
from cujeval.targets.openai import Completion, OpenAITarget
from cujeval.targets.toolsets import (
    HttpTools,
    PythonToolSet,
    ToolFailed,
    ToolSet,
    load_factory,
)

MAX_STEP_TIMINGS = 30  # model.N entries kept in Observation.steps
_RESULT_CHARS = 20_000  # of a tool result sent back to the model


class CaseFailed(Exception):
    """The loop ended the case as an error: ``status`` and a message naming the step."""

    def __init__(self, status: str, message: str) -> None:
        self.status = status
        super().__init__(message)


class AgentLoopTarget:
    def __init__(self, name: str, spec: OpenAITargetSpec, *, concurrency: int = 64) -> None:
        assert spec.agent is not None
        self.name = name
        self.spec = spec
        self.loop = spec.agent
        self.chat = OpenAITarget(name, spec, concurrency=concurrency)
        tools = self.loop.tools
        self._factory = load_factory(tools, f"targets.{name}.agent.tools") if tools else None
        self._http = HttpTools(self.loop, spec, limit=concurrency) if self.loop.tools_url else None
        source = self.loop.tools or "a tool server"
        self.description = f"{self.chat.description}, tools from {source}"

    async def _toolset(self, case: GoldenCase) -> ToolSet:
        if self._http is not None:
            return await self._http.for_case(case)
        assert self._factory is not None and self.loop.tools is not None
        try:
            impl = self._factory(case)
        except Exception as exc:
            raise TargetError(
                f"case {case.id!r}: the tools factory {self.loop.tools} failed: "
                f"{type(exc).__name__}: {exc}"[:500]
            ) from None
        return PythonToolSet(impl, f"tools {self.loop.tools}")

    async def call(self, case: GoldenCase) -> Observation:
        run = _Run(self, case)
        tools = await self._toolset(case)
        try:
            return await run.play(tools)
        finally:
            await tools.aclose()

    async def aclose(self) -> None:
        await self.chat.aclose()
        if self._http is not None:
            await self._http.aclose()


class _Run:
    """One case's conversation and what it recorded."""

    def __init__(self, target: AgentLoopTarget, case: GoldenCase) -> None:
        self.t = target
        self.case = case
        self.messages: list[dict[str, Any]] = []
        self.calls: list[ToolCall] = []
        self.timings: dict[str, float] = {}
        self.usage: Usage | None = None
        self.n_model = 0
        self.first_s: float | None = None
        self.streamed = False
        self.answer = ""
        self.model: str | None = None
        self.finish: str | None = None
        self.start = time.perf_counter()

    async def play(self, tools: ToolSet) -> Observation:
        if self.t.spec.system_prompt:
            self.messages.append({"role": "system", "content": self.t.spec.system_prompt})
        turns = 0
        try:
            for message in self.case.messages():
                if message["role"] == "assistant":
                    continue  # the model answers for itself
                self.messages.append(message)
                if message["role"] == "user":
                    turns += 1
                    await self._turn(tools)
            fired: dict[int, int] = {}
            while turns < self.t.loop.max_user_turns:
                reply = self._scripted_reply(fired)
                if reply is None:
                    break
                self.messages.append({"role": "user", "content": reply})
                turns += 1
                await self._turn(tools)
        except CaseFailed as exc:
            return await self._observation(tools, status=exc.status, error=str(exc))
        except TargetError as exc:
            if not self.calls or self.t.loop.idempotent:
                raise  # nothing done yet (or nothing that matters): the runner may retry
            status = f"http_{exc.status}" if isinstance(exc, TargetHTTPError) else exc.kind
            error = (
                f"{exc} (case {self.case.id!r}, after {len(self.calls)} tool calls: not "
                "retried, they may have had side effects)"
            )
            return await self._observation(tools, status=status, error=error)
        return await self._observation(tools)

    def _scripted_reply(self, fired: dict[int, int]) -> str | None:
        """The simulated user's answer to the agent's last answer, if a rule matches."""
        for i, rule in enumerate(self.case.user_script):
            if fired.get(i, 0) < rule.times and re.search(rule.when, self.answer, re.I):
                fired[i] = fired.get(i, 0) + 1
                return rule.reply
        return None

    async def _turn(self, tools: ToolSet) -> None:
        while True:
            if self.n_model >= self.t.loop.max_steps:
                raise CaseFailed(
                    "step_limit",
                    f"case {self.case.id!r}: no final answer within max_steps = "
                    f"{self.t.loop.max_steps} model calls ({len(self.calls)} tool calls made)",
                )
            step = await self._complete(tools)
            raw_calls = step.data.get("tool_calls") or []
            if not isinstance(raw_calls, list):
                raise CaseFailed("protocol", self._at("tool_calls are not a list"))
            self.answer = str(step.data.get("answer") or "")
            if not raw_calls:
                return
            if len(raw_calls) > self.t.loop.max_tool_calls:
                raise CaseFailed(
                    "tool_call_limit",
                    self._at(
                        f"one message asked for {len(raw_calls)} tool calls, more than "
                        f"max_tool_calls = {self.t.loop.max_tool_calls}; none was run"
                    ),
                )
            wire = [self._wire(c, i) for i, c in enumerate(raw_calls)]
            self.messages.append(
                {"role": "assistant", "content": self.answer or None, "tool_calls": wire}
            )
            for call in wire:
                content = await self._run_tool(tools, call)
                self.messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": content}
                )

    async def _complete(self, tools: ToolSet) -> Completion:
        extra: dict[str, Any] = {"tools": tools.schemas()}
        if self.t.loop.tool_choice is not None:
            extra["tool_choice"] = self.t.loop.tool_choice
        step = await self.t.chat.complete(self.t.chat.body(list(self.messages), **extra))
        self.n_model += 1
        if self.n_model == 1 and step.first_s is not None:
            self.first_s = step.first_s
        self.streamed = self.streamed or step.streamed
        self.timings["model"] = self.timings.get("model", 0.0) + step.latency_s
        if self.n_model <= MAX_STEP_TIMINGS:
            self.timings[f"model.{self.n_model}"] = step.latency_s
        usage = step.data.get("usage")
        if isinstance(usage, dict):
            prompt = int(usage.get("prompt_tokens") or 0)
            completion = int(usage.get("completion_tokens") or 0)
            before = self.usage or Usage()
            self.usage = Usage(
                prompt_tokens=before.prompt_tokens + prompt,
                completion_tokens=before.completion_tokens + completion,
            )
        if step.data.get("model"):
            self.model = str(step.data["model"])
        if step.data.get("finish_reason") is not None:
            self.finish = str(step.data["finish_reason"])
        return step

    def _at(self, problem: str) -> str:
        return f"case {self.case.id!r}, model call {self.n_model}: {problem}"

    def _wire(self, raw: Any, i: int) -> dict[str, Any]:
        """A tool call as the assistant message sends it back (an id always set)."""
        fn = raw.get("function") if isinstance(raw, dict) else None
        if not isinstance(fn, dict):
            raise CaseFailed("malformed_tool_call", self._at(f"tool call {i} is not an object"))
        args = fn.get("arguments")
        if not isinstance(args, str):
            args = json.dumps(args if args is not None else {})
        return {
            "id": str(raw.get("id") or f"call_{self.n_model}_{i}"),
            "type": "function",
            "function": {"name": str(fn.get("name") or ""), "arguments": args},
        }

    async def _run_tool(self, tools: ToolSet, call: dict[str, Any]) -> str:
        """Run one call, record it, return the tool message's content."""
        name, text = call["function"]["name"], call["function"]["arguments"]
        problem = None
        try:
            args = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):
            args = None
        if not isinstance(args, dict):
            problem = f"the arguments of {name or 'a tool call'} are not a JSON object: "
            problem += repr(text[:120])
            args = {"_raw": text}
        elif name not in tools.names:
            known = ", ".join(sorted(tools.names))
            problem = f"unknown tool {name!r} (the tools are {known})"
        if problem is not None:
            self.calls.append(ToolCall(name=name, arguments=args, error=problem))
            if self.t.loop.malformed == "error":
                raise CaseFailed("malformed_tool_call", self._at(problem))
            return json.dumps({"error": problem})
        start = time.perf_counter()
        try:
            result = await tools.call(name, args)
        except ToolFailed as exc:
            seconds = time.perf_counter() - start
            self._tool_time(seconds)
            self.calls.append(
                ToolCall(name=name, arguments=args, latency_s=seconds, error=str(exc))
            )
            return json.dumps({"error": str(exc)})
        seconds = time.perf_counter() - start
        self._tool_time(seconds)
        self.calls.append(ToolCall(name=name, arguments=args, result=result, latency_s=seconds))
        return json.dumps(result, default=str)[:_RESULT_CHARS]

    def _tool_time(self, seconds: float) -> None:
        self.timings["tools"] = self.timings.get("tools", 0.0) + seconds

    async def _observation(
        self, tools: ToolSet, *, status: str = "ok", error: str | None = None
    ) -> Observation:
        try:
            state = await tools.state()
        except TargetError as exc:
            if status == "ok":
                status, error = exc.kind, f"case {self.case.id!r}: the final state: {exc}"
            state = None
        return Observation(
            answer=self.answer,
            tool_calls=tuple(self.calls),
            usage=self.usage,
            model=self.model,
            latency_s=time.perf_counter() - self.start,
            ttft_s=self.first_s,
            state=state,
            streamed=self.streamed,
            finish_reason=self.finish,
            status=status,
            error=error,
            steps=dict(self.timings) or None,
        )
