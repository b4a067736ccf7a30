"""The reference RAG service: FastAPI routes over :class:`RagEngine`, with injected faults.

Routes: ``POST /answer`` (plain JSON), ``POST /v1/chat/completions`` (OpenAI-compatible,
streamed or not, plus ``contexts``), ``GET /health``. The corpus is read when the app is
created (a bad file fails at once) and embedded during start-up, before the port accepts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cujeval.reference import openai_wire
from cujeval.reference.batching import BatchEncoder
from cujeval.reference.config import RagConfig
from cujeval.reference.corpus import load_articles
from cujeval.reference.engine import MAX_TOP_K, RagEngine, RagResult
from cujeval.reference.faults import FaultDecision
from cujeval.reference.index import DenseIndex

__all__ = ["RagConfig", "create_app"]


class AnswerRequest(BaseModel):
    question: str = Field(min_length=1)
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain content, or the text parts of OpenAI content-part lists joined."""
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K)

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text().strip()
        return ""


def error_response(status: int, message: str, code: str) -> JSONResponse:
    """An OpenAI-style error body."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "code": code}}
    )


def injected_error() -> JSONResponse:
    return error_response(500, "injected fault: internal server error", "injected_fault")


class _Ready:
    """What start-up builds: the engine and the batching question encoder."""

    def __init__(self, engine: RagEngine) -> None:
        self.engine = engine
        self.encoder: BatchEncoder[Any] = BatchEncoder(engine.index.embed)

    async def run(self, question: str, top_k: int | None, faults: FaultDecision) -> RagResult:
        query = await self.encoder.embed(question)
        return await asyncio.to_thread(self.engine.answer, question, query, top_k, faults)


def create_app(config: RagConfig, *, index: DenseIndex | None = None) -> FastAPI:
    """The service for ``config``; pass a built ``index`` to share one across apps."""
    articles = index.articles if index is not None else load_articles(config.corpus)
    ready: list[_Ready] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        built = index if index is not None else await asyncio.to_thread(DenseIndex.build, articles)
        ready.append(_Ready(RagEngine(config, built)))
        yield
        ready.clear()

    app = FastAPI(title="cujeval reference RAG", lifespan=lifespan)
    delay_s = config.latency_ms / 1000.0

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "articles": len(articles)}

    @app.post("/answer", response_model=None)
    async def answer(request: AnswerRequest) -> dict[str, Any] | JSONResponse:
        service = ready[0]
        faults = service.engine.faults(request.question)
        if delay_s:
            await asyncio.sleep(delay_s)
        if faults.error:
            return injected_error()
        result = await service.run(request.question, request.top_k, faults)
        return {
            "answer": result.answer,
            "contexts": result.contexts,
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
            },
            "model": config.model_name,
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: ChatRequest) -> dict[str, Any] | JSONResponse | StreamingResponse:
        service = ready[0]
        question = request.question()
        if not question:
            return error_response(400, "messages must contain a non-empty user turn", "no_user")
        faults = service.engine.faults(question)
        if delay_s and (faults.error or not request.stream):
            await asyncio.sleep(delay_s)
        if faults.error:
            return injected_error()
        result = await service.run(question, request.top_k, faults)
        tokens = openai_wire.usage(result.prompt_tokens, result.completion_tokens)
        if not request.stream:
            return openai_wire.completion(
                model=config.model_name,
                answer=result.answer,
                contexts=result.contexts,
                tokens=tokens,
            )
        return StreamingResponse(
            stream(result.answer, result.contexts, tokens, config.model_name, delay_s),
            media_type="text/event-stream",
        )

    return app


async def stream(
    answer: str, contexts: list[dict[str, Any]], tokens: dict[str, int], model: str, delay_s: float
) -> AsyncIterator[bytes]:
    """SSE body; the injected latency comes before the first chunk (time to first token)."""
    if delay_s:
        await asyncio.sleep(delay_s)
    for event in openai_wire.chunks(model=model, answer=answer, contexts=contexts, tokens=tokens):
        yield openai_wire.sse(event)
    yield openai_wire.sse("[DONE]")
