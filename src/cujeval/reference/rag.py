"""The reference RAG service: FastAPI routes over :class:`RagEngine`, with injected faults.

Routes: ``POST /answer`` (plain JSON), ``POST /v1/chat/completions`` (OpenAI-compatible,
streamed or not, plus ``contexts``), ``GET /health``, ``GET /metrics`` (Prometheus text: requests
in flight, generation slots in use, requests queued for one, requests by route and status,
process CPU seconds), and ``GET``/``POST /admin/faults`` plus ``POST /admin/faults/reset`` to
read and switch the fault knobs while the service runs (answered to 127.0.0.1 / ::1 only).

Each answer carries ``Server-Timing: retrieval;dur=…, generation;dur=…`` (milliseconds; plus
``queue;dur=…`` while ``max_concurrency`` limits the generation slots). ``latency_ms`` stands for
the generator's model call and is counted in ``generation``. The corpus is read when the app is
created (a bad file fails at once) and embedded during start-up, before the port accepts.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cujeval.errors import InputError
from cujeval.reference import openai_wire
from cujeval.reference.batching import BatchEncoder
from cujeval.reference.config import RagConfig
from cujeval.reference.corpus import load_articles
from cujeval.reference.engine import MAX_TOP_K, RagEngine, RagResult
from cujeval.reference.faults import FaultDecision, Knobs
from cujeval.reference.index import DenseIndex, Hit

__all__ = ["RagConfig", "create_app"]

ROUTES = ("/answer", "/v1/chat/completions")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


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


def error_response(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An OpenAI-style error body."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": kind, "code": code}},
        headers=headers,
    )


def injected_error(headers: dict[str, str] | None = None) -> JSONResponse:
    return error_response(500, "injected fault: internal server error", "injected_fault", headers)


class Slots:
    """Generation slots: at most ``limit()`` requests generate at once (0: no limit), the rest
    wait in arrival order. ``active`` and ``waiting`` are what /metrics shows."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    def _free(self) -> bool:
        limit = self._limit()
        return limit <= 0 or self.active < limit

    async def acquire(self) -> None:
        if not self._waiters and self._free():
            self.active += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.cancelled():
                if future in self._waiters:
                    self._waiters.remove(future)
            else:  # handed a slot just as it was cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        self.active -= 1
        self.wake()

    def wake(self) -> None:
        """Hand free slots to waiters (also after the limit was raised)."""
        while self._waiters and self._free():
            future = self._waiters.popleft()
            if not future.done():
                self.active += 1
                future.set_result(None)


class Timing:
    """Milliseconds per step of one request, as a Server-Timing header."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._start: dict[str, float] = {}

    def start(self, step: str) -> None:
        self._start[step] = time.perf_counter()

    def stop(self, step: str) -> None:
        began = self._start.pop(step, None)
        if began is not None:
            self.steps[step] = self.steps.get(step, 0.0) + (time.perf_counter() - began) * 1000

    def header(self) -> dict[str, str]:
        value = ", ".join(f"{name};dur={ms:.3f}" for name, ms in self.steps.items())
        return {"Server-Timing": value} if value else {}


class Metrics:
    """What /metrics exposes; one event loop, so plain counters."""

    def __init__(self, slots: Slots, knobs: Knobs) -> None:
        self.in_flight = 0
        self.requests: Counter[tuple[str, int]] = Counter()
        self.slots = slots
        self.knobs = knobs

    def render(self) -> str:
        lines = [
            "# HELP cujeval_rag_in_flight_requests Requests being handled (answer and chat).",
            "# TYPE cujeval_rag_in_flight_requests gauge",
            f"cujeval_rag_in_flight_requests {self.in_flight}",
            "# HELP cujeval_rag_generation_active Generation slots in use.",
            "# TYPE cujeval_rag_generation_active gauge",
            f"cujeval_rag_generation_active {self.slots.active}",
            "# HELP cujeval_rag_queue_depth Requests waiting for a generation slot.",
            "# TYPE cujeval_rag_queue_depth gauge",
            f"cujeval_rag_queue_depth {self.slots.waiting}",
            "# HELP cujeval_rag_generation_slots Generation slots (0: no limit).",
            "# TYPE cujeval_rag_generation_slots gauge",
            f"cujeval_rag_generation_slots {self.knobs.max_concurrency}",
            "# HELP cujeval_rag_requests_total Requests answered, by route and status.",
            "# TYPE cujeval_rag_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'cujeval_rag_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += [
            "# HELP process_cpu_seconds_total User and system CPU time of the service process.",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {time.process_time():.6f}",
        ]
        return "\n".join(lines) + "\n"


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class CountRequests:
    """ASGI middleware: requests in flight on the answering routes, and their statuses."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in ROUTES:
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight += 1
        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.in_flight -= 1
            self.metrics.requests[(str(path), status)] += 1


class _Ready:
    """What start-up builds: the engine and the batching question encoder."""

    def __init__(self, engine: RagEngine, slots: Slots) -> None:
        self.engine = engine
        self.knobs = engine.knobs
        self.slots = slots
        self.encoder: BatchEncoder[Any] = BatchEncoder(engine.index.embed)

    def stall(self) -> None:
        """A pending one-shot stall blocks the event loop itself: every request waits."""
        seconds = self.knobs.take_stall()
        if seconds:
            time.sleep(seconds)

    async def retrieve(
        self, question: str, top_k: int | None, faults: FaultDecision, timing: Timing
    ) -> tuple[Any, list[Hit]]:
        timing.start("retrieval")
        try:
            if self.knobs.retriever_latency_ms:
                await asyncio.sleep(self.knobs.retriever_latency_ms / 1000.0)
            if faults.retriever_down:
                return None, []
            query = await self.encoder.embed(question)
            hits = await asyncio.to_thread(self.engine.retrieve, query, top_k, faults)
            return query, hits
        finally:
            timing.stop("retrieval")

    async def generate(
        self, question: str, query: Any, hits: list[Hit], faults: FaultDecision, timing: Timing
    ) -> RagResult | None:
        """The answer, or None for an injected error; holds a generation slot meanwhile."""
        limited = self.knobs.max_concurrency > 0
        if limited:
            timing.start("queue")
        await self.slots.acquire()
        try:
            if limited:
                timing.stop("queue")
            timing.start("generation")
            delay_ms = self.knobs.latency_ms + self.knobs.generator_latency_ms
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000.0)
            if faults.error:
                return None
            return await asyncio.to_thread(self.engine.generate, question, query, hits, faults)
        finally:
            timing.stop("generation")
            self.slots.release()

    async def run(
        self, question: str, top_k: int | None, faults: FaultDecision, timing: Timing
    ) -> RagResult | None:
        query, hits = await self.retrieve(question, top_k, faults, timing)
        return await self.generate(question, query, hits, faults, timing)


def _loopback(request: Request) -> bool:
    return request.client is not None and request.client.host in LOOPBACK


def create_app(config: RagConfig, *, index: DenseIndex | None = None) -> FastAPI:
    """The service for ``config``; pass a built ``index`` to share one across apps. Long: the
    routes are closures over the service's state, declared where FastAPI expects them."""
    articles = index.articles if index is not None else load_articles(config.corpus)
    knobs = config.knobs()
    slots = Slots(lambda: knobs.max_concurrency)
    metrics = Metrics(slots, knobs)
    ready: list[_Ready] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        built = index if index is not None else await asyncio.to_thread(DenseIndex.build, articles)
        # ready means warm: the model loads on its first query, which a burst of the first
        # requests would otherwise all wait for (a first run's p95 of 1.8 s against 0.4 s warm)
        await asyncio.to_thread(built.embed, ["warm-up"])
        ready.append(_Ready(RagEngine(config, built, knobs), slots))
        yield
        ready.clear()

    app = FastAPI(title="cujeval reference RAG", lifespan=lifespan)
    app.add_middleware(CountRequests, metrics=metrics)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "articles": len(articles)}

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/admin/faults", response_model=None)
    async def get_faults(request: Request) -> dict[str, Any] | JSONResponse:
        if not _loopback(request):
            return error_response(403, "the admin routes answer 127.0.0.1 only", "forbidden")
        return knobs.as_dict()

    @app.post("/admin/faults", response_model=None)
    async def set_faults(request: Request) -> dict[str, Any] | JSONResponse:
        """Merge a JSON object of knobs (``{"retriever_down": 1.0, "fallback": false}``) into
        the knobs in force; answers with all of them."""
        if not _loopback(request):
            return error_response(403, "the admin routes answer 127.0.0.1 only", "forbidden")
        try:
            changes = await request.json()
        except ValueError:
            return error_response(400, "the body must be a JSON object of knobs", "bad_json")
        if not isinstance(changes, dict):
            return error_response(400, "the body must be a JSON object of knobs", "bad_json")
        try:
            knobs.update(changes)
        except InputError as exc:
            return error_response(400, str(exc), "bad_knob")
        slots.wake()
        return knobs.as_dict()

    @app.post("/admin/faults/reset", response_model=None)
    async def reset_faults(request: Request) -> dict[str, Any] | JSONResponse:
        """Back to the knobs the service started with."""
        if not _loopback(request):
            return error_response(403, "the admin routes answer 127.0.0.1 only", "forbidden")
        knobs.update(config.knobs().as_dict())
        slots.wake()
        return knobs.as_dict()

    @app.post("/answer", response_model=None)
    async def answer(request: AnswerRequest) -> JSONResponse:
        service = ready[0]
        service.stall()
        timing = Timing()
        faults = service.engine.faults(request.question)
        result = await service.run(request.question, request.top_k, faults, timing)
        if result is None:
            return injected_error(timing.header())
        return JSONResponse(
            {
                "answer": result.answer,
                "contexts": result.contexts,
                "usage": {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                },
                "model": config.model_name,
            },
            headers=timing.header(),
        )

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: ChatRequest) -> JSONResponse | StreamingResponse:
        service = ready[0]
        question = request.question()
        if not question:
            return error_response(400, "messages must contain a non-empty user turn", "no_user")
        service.stall()
        timing = Timing()
        faults = service.engine.faults(question)
        result = await service.run(question, request.top_k, faults, timing)
        if result is None:
            return injected_error(timing.header())
        tokens = openai_wire.usage(result.prompt_tokens, result.completion_tokens)
        if not request.stream:
            return JSONResponse(
                openai_wire.completion(
                    model=config.model_name,
                    answer=result.answer,
                    contexts=result.contexts,
                    tokens=tokens,
                ),
                headers=timing.header(),
            )
        return StreamingResponse(
            stream(result.answer, result.contexts, tokens, config.model_name, 0.0),
            media_type="text/event-stream",
            headers=timing.header(),
        )

    return app


async def stream(
    answer: str, contexts: list[dict[str, Any]], tokens: dict[str, int], model: str, delay_s: float
) -> AsyncIterator[bytes]:
    """SSE body; ``delay_s`` comes before the first chunk (the routes spend the injected
    latency before answering, so the time to first token holds it either way)."""
    if delay_s:
        await asyncio.sleep(delay_s)
    for event in openai_wire.chunks(model=model, answer=answer, contexts=contexts, tokens=tokens):
        yield openai_wire.sse(event)
    yield openai_wire.sse("[DONE]")
