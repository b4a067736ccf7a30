"""A real HTTP server on 127.0.0.1 for runner and target tests: an aiohttp app in a background
thread with routes that behave well or badly on purpose, and a log of every call."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class CallLog:
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> int:
        with self.lock:
            self.calls[key] += 1
            return self.calls[key]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], grace_s: float = 15) -> None:
    """Terminate a server process; kill it if it has not gone after ``grace_s``."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _answer(question: str) -> dict[str, Any]:
    return {
        "answer": f"You asked: {question}",
        "contexts": [
            {"id": "d1", "text": f"About {question}", "score": 0.9},
            {"id": "d2", "text": "Something else", "score": 0.5},
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5},
        "model": "test-model",
    }


def build_app(log: CallLog, *, delay_s: float = 0.0) -> web.Application:
    async def answer(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        q = str(body.get("question", ""))
        log.hit(f"answer:{q}")
        if delay_s:
            await asyncio.sleep(delay_s)
        return web.json_response(_answer(q))

    async def flaky(request: web.Request) -> web.StreamResponse:
        """Fails the first `fail` calls per question with `status` (and Retry-After), then ok."""
        body = await request.json()
        q = str(body.get("question", ""))
        n = log.hit(f"flaky{request.query.get('ns', '')}:{q}")
        fail = int(request.query.get("fail", "1"))
        status = int(request.query.get("status", "503"))
        if n <= fail:
            headers = {}
            if "retry_after" in request.query:
                headers["Retry-After"] = request.query["retry_after"]
            return web.json_response({"error": "try later"}, status=status, headers=headers)
        return web.json_response(_answer(q))

    async def status(request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        log.hit(f"status:{code}")
        return web.json_response({"error": "no"}, status=code)

    async def some(request: web.Request) -> web.StreamResponse:
        """Fails with `code` the questions whose number is a multiple of `every` (default 2)."""
        body = await request.json()
        q = str(body.get("question", ""))
        every = int(request.query.get("every", "2"))
        number = int(q.rsplit(" ", 1)[-1]) if q.rsplit(" ", 1)[-1].isdigit() else 0
        if number % every == 0:
            return web.json_response({"error": "boom"}, status=int(request.match_info["code"]))
        return web.json_response(_answer(q))

    async def badjson(request: web.Request) -> web.StreamResponse:
        log.hit("badjson")
        return web.Response(text="{not json", content_type="application/json")

    async def big(request: web.Request) -> web.StreamResponse:
        log.hit("big")
        return web.json_response({"answer": "x" * 200_000})

    async def slow(request: web.Request) -> web.StreamResponse:
        log.hit("slow")
        await asyncio.sleep(float(request.query.get("s", "5")))
        return web.json_response(_answer("slow"))

    async def reset(request: web.Request) -> web.StreamResponse:
        log.hit("reset")
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        q = body["messages"][-1]["content"]
        log.hit(f"chat:{q}")
        words = f"Answer to {q}".split(" ")
        usage = {"prompt_tokens": 20, "completion_tokens": len(words)}
        contexts = [{"id": "c1", "text": "ctx"}]
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": " ".join(words)}}
                    ],
                    "usage": usage,
                    "contexts": contexts,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if body.get("malformed"):
            await resp.write(b"data: {broken\n\n")
            return resp
        await asyncio.sleep(0.05)
        for i, w in enumerate(words):
            chunk = {
                "object": "chat.completion.chunk",
                "model": body["model"],
                "choices": [{"index": 0, "delta": {"content": (" " if i else "") + w}}],
            }
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(0.01)
        final = {
            "object": "chat.completion.chunk",
            "model": body["model"],
            "choices": [],
            "usage": usage,
            "contexts": contexts,
        }
        await resp.write(f"data: {json.dumps(final)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def silent_chat(request: web.Request) -> web.StreamResponse:
        """A streamed chat route that, like llama.cpp's server at times, streams a role delta
        and a finish reason but no content for the questions whose number is a multiple of
        `every` (every question when every is 1); the others get a normal short answer."""
        body = await request.json()
        q = str(body["messages"][-1]["content"])
        every = int(request.match_info["every"])
        last = q.rsplit(" ", 1)[-1]
        silent = (int(last) if last.isdigit() else 0) % every == 0
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        deltas: list[dict[str, Any]] = [{"role": "assistant"}]
        if not silent:
            deltas.append({"content": f"Answer to {q}, in short."})
        for delta in deltas:
            chunk = {"model": "m", "choices": [{"index": 0, "delta": delta}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await resp.write(f"data: {json.dumps(end)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def nousage_chat(request: web.Request) -> web.StreamResponse:
        """A streamed chat route whose server never sends usage (it ignores
        stream_options.include_usage), as some OpenAI-compatible servers do."""
        body = await request.json()
        q = str(body["messages"][-1]["content"])
        log.hit(f"nousage:{q}")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = f"Answer to {q}, in short.".split(" ")
        for i, w in enumerate(words):
            delta = {"content": (" " if i else "") + w}
            chunk = {"model": body["model"], "choices": [{"index": 0, "delta": delta}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {
            "model": body["model"],
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        await resp.write(f"data: {json.dumps(end)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def cut_chat(request: web.Request) -> web.StreamResponse:
        """A chat route whose model stops at its token limit (``finish_reason: length``) on
        every answer, as a small model with a low max_tokens does."""
        body = await request.json()
        q = str(body["messages"][-1]["content"])
        log.hit(f"cut:{q}")
        return web.json_response(
            {
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"Answer to {q} which"},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 16},
            }
        )

    async def interrupted_chat(request: web.Request) -> web.StreamResponse:
        """A streamed chat route that stops mid-answer: no finish reason, no [DONE]."""
        log.hit("interrupted")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        chunk = {"model": "m", "choices": [{"index": 0, "delta": {"content": "Half an"}}]}
        await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        return resp

    app = web.Application()
    app.router.add_post("/cut/v1/chat/completions", cut_chat)
    app.router.add_post("/interrupted/v1/chat/completions", interrupted_chat)
    app.router.add_post("/nousage/v1/chat/completions", nousage_chat)
    app.router.add_post("/silent/{every}/v1/chat/completions", silent_chat)
    app.router.add_post("/answer", answer)
    app.router.add_post("/flaky", flaky)
    app.router.add_post("/status/{code}", status)
    app.router.add_post("/some/{code}", some)
    app.router.add_post("/badjson", badjson)
    app.router.add_post("/big", big)
    app.router.add_post("/slow", slow)
    app.router.add_post("/reset", reset)
    app.router.add_post("/v1/chat/completions", chat)
    return app


@contextmanager
def serve_app(app: web.Application) -> Iterator[str]:
    """Run an aiohttp app on a free 127.0.0.1 port in a background thread; yields its URL."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(app, access_log=None)

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextmanager
def serve(*, delay_s: float = 0.0) -> Iterator[tuple[str, CallLog]]:
    """The misbehaving test app on a free port; yields (base_url, call log)."""
    log = CallLog()
    with serve_app(build_app(log, delay_s=delay_s)) as url:
        yield url, log


if __name__ == "__main__":  # a standalone server for subprocess tests and benchmarks
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(
        build_app(CallLog(), delay_s=args.delay_s),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
    )
