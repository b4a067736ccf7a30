"""The reference agent service: FastAPI routes over the rule-based policy and its worlds.

Routes: ``POST /agent`` (``{"world", "messages", "reset"}``), ``GET /worlds/{id}`` (a world's
last state; ``?create=true`` starts it if absent), ``GET /tools`` (the tool schemas),
``POST /tools/{name}`` (``{"world", "arguments"}``: one tool call, for an agent loop run by
cujeval), ``POST /v1/chat/completions`` (the policy as a chat model that calls tools, for
that loop: see cujeval.reference.agent.chat), ``GET /healthz``. Each request starts its world
from a fresh copy of the seed store (``reset``, the default, so retries and repeated epochs of
a case see the same world); ``"reset": false`` continues the world's last state, for a client
that sends one turn per request. The last ``max_worlds`` worlds are kept.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cujeval.reference.agent import chat
from cujeval.reference.agent.config import AgentConfig
from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.policy import SYSTEM_PROMPT, Conversation, Usage
from cujeval.reference.agent.store import World
from cujeval.reference.agent.tools import TOOLS, ToolError
from cujeval.reference.corpus import default_corpus_path, load_articles
from cujeval.reference.tokens import count_tokens


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str = ""


class ToolRequest(BaseModel):
    world: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)


class AgentRequest(BaseModel):
    world: str | None = Field(default=None, min_length=1, max_length=200)
    messages: list[AgentMessage] = Field(min_length=1)
    reset: bool = True


def create_app(config: AgentConfig | None = None, *, kb: KnowledgeBase | None = None) -> FastAPI:
    """The service for ``config``; the help-centre corpus is read here (a bad file fails now).
    Long: the routes are closures over the service's state, declared where FastAPI expects."""
    config = config or AgentConfig()
    knowledge = kb or KnowledgeBase(load_articles(default_corpus_path()))
    schemas = [t.schema() for t in TOOLS.values()]
    system_tokens = count_tokens(SYSTEM_PROMPT) + count_tokens(json.dumps(schemas))
    worlds: OrderedDict[str, World] = OrderedDict()
    app = FastAPI(title="cujeval reference agent")

    def world_for(world_id: str, reset: bool) -> World:
        world = None if reset else worlds.get(world_id)
        if world is None:
            world = World.fresh(world_id)
        worlds[world_id] = world
        worlds.move_to_end(world_id)
        while len(worlds) > config.max_worlds:
            worlds.popitem(last=False)
        return world

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "tools": list(TOOLS), "worlds": len(worlds)}

    @app.get("/tools")
    async def tools() -> list[dict[str, Any]]:
        return schemas

    @app.get("/worlds/{world_id}", response_model=None)
    async def world_state(world_id: str, create: bool = False) -> dict[str, Any] | JSONResponse:
        world = worlds.get(world_id)
        if world is None and create:
            world = world_for(world_id, reset=False)
        if world is None:
            return JSONResponse(status_code=404, content={"error": f"no world {world_id!r}"})
        return world.state()

    @app.post("/tools/{name}", response_model=None)
    async def run_tool(name: str, call: ToolRequest) -> dict[str, Any] | JSONResponse:
        """One tool call in a world (started fresh on its first call): the tool server of
        an agent loop that cujeval runs itself. A refused call is ``{"error": ...}``."""
        tool = TOOLS.get(name)
        if tool is None:
            return JSONResponse(status_code=404, content={"error": f"no tool {name!r}"})
        try:
            return {"result": tool.run(world_for(call.world, False), knowledge, call.arguments)}
        except ToolError as exc:
            return {"error": str(exc)}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Any:
        try:
            body = await request.json()
            messages = [m for m in body["messages"] if isinstance(m, dict)]
            step = await chat.next_step(messages, kb=knowledge, config=config)
        except (ValueError, KeyError, TypeError) as exc:
            error = {"message": f"bad request: {exc}", "type": "invalid_request_error"}
            return JSONResponse(status_code=400, content={"error": error})
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000.0)
        tokens = chat.usage(messages, body.get("tools"), step)
        model = str(body.get("model") or config.model_name)
        if body.get("stream"):
            options = body.get("stream_options") or {}
            shown = tokens if options.get("include_usage") else None
            return StreamingResponse(
                chat.stream(step, model, shown), media_type="text/event-stream"
            )
        return chat.completion(step, model, tokens)

    @app.post("/agent", response_model=None)
    async def agent(request: AgentRequest) -> dict[str, Any] | JSONResponse:
        turns = [m.content for m in request.messages if m.role == "user" and m.content.strip()]
        if not turns:
            return JSONResponse(
                status_code=400, content={"error": "messages must hold a non-empty user turn"}
            )
        world = world_for(request.world or f"w-{uuid.uuid4().hex[:12]}", request.reset)
        conversation = Conversation(
            world=world,
            kb=knowledge,
            config=config,
            faults=config.decide("\x1e".join(turns)),
            usage=Usage(system_tokens=system_tokens),
        )
        answer = await conversation.run(turns)
        usage = conversation.usage
        return {
            "answer": answer,
            "replies": conversation.replies,
            "tool_calls": conversation.calls,
            "steps": usage.steps,
            "usage": {"prompt_tokens": usage.prompt, "completion_tokens": usage.completion},
            "model": config.model_name,
            "world": world.id,
            "state": world.state(),
        }

    return app
