"""Hostile targets on 127.0.0.1: one route per fault a real endpoint can throw at the harness.

Three servers share one background event loop:

- ``url``: an aiohttp app (big, oversized, compressed, deep or oddly typed JSON bodies;
  redirects of every kind; OpenAI-style streams under ``/v1/<mode>/chat/completions``);
- ``other_url``: another origin (another port) that records what reaches it, to prove that
  redirects and credentials never travel there;
- ``raw_url``: a bare asyncio TCP server that writes broken HTTP (bad status line, bad
  header, short body...), which aiohttp's own server refuses to produce.

A new fault is one route away: add a handler to ``_main_app`` (or bytes to ``RAW``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers import free_port

MIB = 1024 * 1024


@dataclass
class HostileLog:
    """What the servers saw: requests at the other origin, bytes written by endless routes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    other: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    finished: dict[str, threading.Event] = field(default_factory=dict)

    def add_sent(self, key: str, n: int) -> None:
        with self.lock:
            self.sent[key] = self.sent.get(key, 0) + n

    def event(self, key: str) -> threading.Event:
        with self.lock:
            return self.finished.setdefault(key, threading.Event())

    def sent_when_done(self, key: str, timeout_s: float = 30) -> int:
        """Bytes an endless route wrote, once its handler has returned."""
        if not self.event(key).wait(timeout_s):
            raise TimeoutError(f"{key} still writing after {timeout_s} s")
        with self.lock:
            return self.sent.get(key, 0)


LOG = web.AppKey("log", HostileLog)
OTHER_URL = web.AppKey("other_url", str)


@dataclass(frozen=True)
class Hostile:
    url: str
    other_url: str
    raw_url: str
    log: HostileLog


def padded_json(size: int) -> bytes:
    """A valid answer of ``size`` bytes: two-byte characters so reads split them, the answer
    after the padding so a partial read cannot look like a complete one."""
    head = b'{"padding": "'
    tail = (
        b'", "answer": "the complete answer", '
        b'"contexts": [{"id": "d1", "text": "ctx"}], "finish_reason": "stop"}'
    )
    room = max(0, size - len(head) - len(tail))
    pad = "é" * (room // 2) + "x" * (room % 2)
    return head + pad.encode() + tail


def _question(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        if "question" in data:
            return str(data["question"])
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            return str(messages[-1].get("content", ""))
    return ""


# ---------------------------------------------------------------- the main app: bodies


async def _json(request: web.Request) -> web.StreamResponse:
    """``?size=N`` bytes of valid JSON; ``&chunked=1`` sends it in 64 KiB chunks."""
    await request.read()
    body = padded_json(int(request.query.get("size", "1024")))
    if request.query.get("chunked") != "1":
        return web.Response(body=body, content_type="application/json")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        for i in range(0, len(body), 65536):
            await resp.write(body[i : i + 65536])
        await resp.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # a client that refused the body hung up
    return resp


async def _endless(request: web.Request) -> web.StreamResponse:
    """``?mb=N`` MiB of a JSON string, written 1 MiB at a time as the client reads;
    ``&declare=1`` announces the length. Bytes written are logged under ``endless-<declare>``."""
    await request.read()
    log: HostileLog = request.app[LOG]
    mb = int(request.query.get("mb", "200"))
    declare = request.query.get("declare") == "1"
    key = f"endless-{int(declare)}"
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if declare:
        resp.content_length = mb * MIB
    else:
        resp.enable_chunked_encoding()
    await resp.prepare(request)
    block = b"x" * MIB
    try:
        await resp.write(b'{"answer": "' + block[12:])
        log.add_sent(key, MIB)
        for _ in range(mb - 1):
            await resp.write(block)
            log.add_sent(key, MIB)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up: what we want
    finally:
        log.event(key).set()
    return resp


@functools.cache
def _gzip_bomb() -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    parts = [comp.compress(b'{"answer": "')]
    block = b" " * MIB
    parts += [comp.compress(block) for _ in range(64)]
    parts.append(comp.compress(b'"}') + comp.flush())
    return b"".join(parts)


async def _gzip(request: web.Request) -> web.StreamResponse:
    """A few hundred KiB that inflate to 64 MiB of JSON."""
    await request.read()
    return web.Response(
        body=_gzip_bomb(),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


async def _body(request: web.Request) -> web.StreamResponse:
    """Odd but well-framed bodies, by name."""
    await request.read()
    bodies: dict[str, bytes] = {
        "deep": b"[" * 200_000 + b"]" * 200_000,
        "bigint": b'{"answer": "a", "usage": {"prompt_tokens": ' + b"9" * 5000 + b"}}",
        "not-json": b"<html>gateway says hi</html>",
        "empty": b"",
        "bad-utf8": b'{"answer": "caf\xe9"}',
        "missing-answer": b'{"result": "no answer key here"}',
        "list": b'["an", "array"]',
        "bad-contexts": b'{"answer": "a", "contexts": [{"id": "d1", "score": "high"}]}',
        "bad-rank": b'{"answer": "a", "contexts": [{"id": "d1", "rank": "first"}]}',
        "bad-usage": b'{"answer": "a", "usage": {"prompt_tokens": "many"}}',
        "bad-tools": b'{"answer": "a", "tool_calls": [{"function": "not an object"}]}',
        "contexts-object": b'{"answer": "a", "contexts": {"id": "d1"}}',
        # lone surrogates (valid JSON escapes, no valid text) and control characters
        "surrogate": b'{"answer": "caf\\ud800 and \\udfff", '
        b'"contexts": [{"id": "d1", "text": "half \\ud83d"}], "model": "m\\udc80"}',
        "control": b'{"answer": "a \\u0000 b \\u001b[31mred\\u001b[0m \\ufffe c", '
        b'"contexts": [{"id": "d1", "text": "t"}]}',
    }
    return web.Response(body=bodies[request.match_info["name"]], content_type="application/json")


async def _echo(request: web.Request) -> web.StreamResponse:
    """Answers with the method and question it received (proves 307 kept POST and body)."""
    q = _question(await request.read())
    return web.json_response(
        {"answer": f"{request.method} {q}".strip(), "contexts": [{"id": "d1", "text": "t"}]}
    )


async def _echo_error(request: web.Request) -> web.StreamResponse:
    """A 500 whose body repeats the request line and headers (secrets included)."""
    await request.read()
    boring = {"host", "accept", "accept-encoding", "user-agent", "content-length", "content-type"}
    seen = f"{request.method} {request.path_qs} " + " ".join(
        f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in boring
    )
    return web.Response(status=500, text=f"cannot serve {seen}")


def _seen(request: web.Request) -> str:
    """The request line and every header but the boring ones, credentials included."""
    boring = {"host", "accept", "accept-encoding", "user-agent", "content-length", "content-type"}
    return f"{request.method} {request.path_qs} " + " ".join(
        f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in boring
    )


def _number(question: str) -> int:
    digits = "".join(c for c in question if c.isdigit())
    return int(digits) if digits else 0


async def _echo_headers(request: web.Request) -> web.StreamResponse:
    """Any path under ``/echo-headers/``: a fine answer that repeats the request line and
    headers in the answer and a context, as a debugging service might."""
    await request.read()
    seen = _seen(request)
    return web.json_response(
        {"answer": f"you sent {seen}", "contexts": [{"id": "d1", "text": f"request: {seen}"}]}
    )


async def _error_echo(request: web.Request) -> web.StreamResponse:
    """Any path under ``/error-echo/``: odd questions get a 500 that names the tenant token
    inside the ``pre-...-post`` header value (the bare secret, not the header), and the headers
    as JSON; even ones a fine answer."""
    q = _question(await request.read())
    if _number(q) % 2 == 0:
        return web.json_response({"answer": "fine", "contexts": [{"id": "d1", "text": "t"}]})
    token = request.headers.get("X-Tenant-Token", "").removeprefix("pre-").removesuffix("-post")
    body = {"error": f"unknown tenant token {token}", "headers": dict(request.headers)}
    return web.json_response(body, status=500)


async def _error_bytes(request: web.Request) -> web.StreamResponse:
    """A 500 whose body holds what XML 1.0 forbids and terminals act on: U+FFFE, NUL, ESC."""
    await request.read()
    return web.Response(
        status=500,
        body="upstream said \ufffe\x00\x1b[2J and gave up".encode(),
        content_type="text/plain",
    )


async def _mlflow_401(request: web.Request) -> web.StreamResponse:
    """A tracking server behind a proxy that refuses the request and repeats the credentials
    it got (``Authorization: Basic ...``)."""
    await request.read()
    auth = request.headers.get("Authorization", "none")
    return web.Response(status=401, text=f"Unauthorized: bad credentials {auth}")


# ---------------------------------------------------------------- the main app: redirects


def _redirect(location: str, code: int = 302) -> web.StreamResponse:
    return web.Response(status=code, headers={"Location": location})


async def _loop(request: web.Request) -> web.StreamResponse:
    await request.read()
    return _redirect("/redirect/loop", int(request.query.get("code", "302")))


async def _to_file(request: web.Request) -> web.StreamResponse:
    await request.read()
    return _redirect("file:///etc/passwd")


async def _to_other(request: web.Request) -> web.StreamResponse:
    """To the same path on another port (another origin)."""
    await request.read()
    other: str = request.app[OTHER_URL]
    return _redirect(f"{other}/steal?{request.query_string}", int(request.query.get("code", "307")))


async def _to_same(request: web.Request) -> web.StreamResponse:
    """To /echo on this origin: relative, or absolute with ``?absolute=1``."""
    await request.read()
    base = f"{request.scheme}://{request.host}" if request.query.get("absolute") else ""
    return _redirect(f"{base}/echo", int(request.query.get("code", "307")))


async def _chain(request: web.Request) -> web.StreamResponse:
    """``?n=K``: K same-origin hops, then /echo."""
    await request.read()
    n = int(request.query.get("n", "3"))
    return _redirect(f"/redirect/chain?n={n - 1}" if n > 1 else "/echo", 307)


async def _no_location(request: web.Request) -> web.StreamResponse:
    await request.read()
    return web.Response(status=302)


async def _bad_location(request: web.Request) -> web.StreamResponse:
    await request.read()
    return _redirect("http://[::1/x")


# ---------------------------------------------------------------- the main app: streams


def _chunk(content: str | None = None, finish: str | None = None, **delta_extra: Any) -> bytes:
    delta: dict[str, Any] = {"content": content} if content is not None else {}
    delta.update(delta_extra)
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    data = {"object": "chat.completion.chunk", "model": "hostile", "choices": [choice]}
    return f"data: {json.dumps(data)}\n\n".encode()


_USAGE = {"prompt_tokens": 7, "completion_tokens": 3}
_DONE = b"data: [DONE]\n\n"


def _stream_frames(mode: str) -> list[bytes]:
    """The SSE frames of each stream mode, written as they are."""
    words = [_chunk("one"), _chunk(" two"), _chunk(" three")]
    usage = f"data: {json.dumps({'choices': [], 'usage': _USAGE})}\n\n".encode()
    tool_start = {"index": 0, "id": "t1", "function": {"name": "cancel", "arguments": '{"order'}}
    tool_rest = {"index": 0, "function": {"arguments": '_id": 42}'}}
    frames: dict[str, list[bytes]] = {
        "ok": [*words, _chunk(finish="stop"), usage, _DONE],
        "truncated": words,
        "length": [*words, _chunk(finish="length"), usage, _DONE],
        "content-filter": [*words, _chunk(finish="content_filter"), _DONE],
        "finish-no-done": [*words, _chunk(finish="stop")],
        "done-no-finish": [*words, _DONE],
        "badjson": [words[0], b"data: {broken\n\n", _DONE],
        "error-event": [b'data: {"error": {"message": "model overloaded"}}\n\n'],
        "weird-choices": [b'data: {"choices": "not a list"}\n\n', _DONE],
        "weird-delta": [b'data: {"choices": [{"delta": {"content": 42}}]}\n\n', _DONE],
        "bad-utf8": [b'data: {"choices": [{"delta": {"content": "caf\xe9"}}]}\n\n', _DONE],
        "crlf": [f.replace(b"\n", b"\r\n") for f in [*words, _chunk(finish="stop"), _DONE]],
        "long-line": [_chunk("y" * 300_000), _chunk(finish="stop"), _DONE],
        "comments": [b": keep-alive\n\n", *words, b"event: message\n", _chunk(finish="stop")],
        "tools": [
            _chunk(tool_calls=[tool_start]),
            _chunk(tool_calls=[tool_rest]),
            _chunk(finish="tool_calls"),
            _DONE,
        ],
        "no-data": [b"event: ping\n\n"],
    }
    return frames[mode]


async def _chat(request: web.Request) -> web.StreamResponse:
    body = json.loads(await request.read())
    mode = request.match_info["mode"]
    if mode == "to-other":
        return _redirect(f"{request.app[OTHER_URL]}/steal", 307)
    if mode == "bad-key":  # what OpenAI answers a wrong key: the bare key, without "Bearer"
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        error = {
            "message": f"Incorrect API key provided: {key}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
        return web.json_response({"error": error}, status=401)
    if mode == "flood-tools":  # one message asking for 100 tool calls; then an answer
        if any(m.get("role") == "tool" for m in body.get("messages") or ()):
            message: Any = {"role": "assistant", "content": "done"}
        else:
            calls = [
                {
                    "id": f"t{i}",
                    "type": "function",
                    "function": {"name": "touch", "arguments": "{}"},
                }
                for i in range(100)
            ]
            message = {"role": "assistant", "content": None, "tool_calls": calls}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return web.json_response({"model": "hostile", "choices": [choice], "usage": _USAGE})
    if not body.get("stream") or mode == "json-anyway":
        finish = {"length": "length", "content-filter": "content_filter"}.get(mode, "stop")
        message = {"role": "assistant", "content": "one two three"}
        if mode == "weird-message":
            message = "not an object"
        return web.json_response(
            {
                "model": "hostile",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": _USAGE,
            }
        )
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    if mode == "endless":
        frame = _chunk("z" * 65536)
        log = request.app[LOG]
        try:
            while True:
                await resp.write(frame)
                log.add_sent("stream-endless", len(frame))
        except (ConnectionError, RuntimeError):
            return resp
        finally:
            log.event("stream-endless").set()
    if mode == "error-echo":  # an error event that repeats the credentials it got
        error = {"error": {"message": f"invalid key {request.headers.get('Authorization')}"}}
        await resp.write(f"data: {json.dumps(error)}\n\n".encode())
        await resp.write_eof()
        return resp
    if mode == "cut":  # three chunks, then the connection drops mid-body
        for frame in _stream_frames("truncated"):
            await resp.write(frame)
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()
        return resp
    for frame in _stream_frames(mode):
        await resp.write(frame)
    await resp.write_eof()
    return resp


def _main_app(log: HostileLog, other_url: str) -> web.Application:
    app = web.Application(client_max_size=4 * MIB)
    app[LOG] = log
    app[OTHER_URL] = other_url
    routes = {
        "/json": _json,
        "/endless": _endless,
        "/gzip": _gzip,
        "/body/{name}": _body,
        "/echo": _echo,
        "/echo-error": _echo_error,
        "/echo-headers/{tail:.*}": _echo_headers,
        "/error-echo/{tail:.*}": _error_echo,
        "/error-bytes": _error_bytes,
        "/mlflow-401/{tail:.*}": _mlflow_401,
        "/redirect/loop": _loop,
        "/redirect/to-file": _to_file,
        "/redirect/to-other": _to_other,
        "/redirect/to-same": _to_same,
        "/redirect/chain": _chain,
        "/redirect/no-location": _no_location,
        "/redirect/bad-location": _bad_location,
        "/v1/{mode}/chat/completions": _chat,
    }
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    return app


def _other_app(log: HostileLog) -> web.Application:
    async def steal(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with log.lock:
            log.other.append(
                {
                    "method": request.method,
                    "path_qs": request.path_qs,
                    "headers": dict(request.headers),
                    "body": body.decode("utf-8", "replace"),
                }
            )
        return web.json_response(
            {"answer": "from another origin", "contexts": [{"id": "d1", "text": "t"}]}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", steal)
    return app


# ---------------------------------------------------------------- the raw TCP server

_OK_HEAD = b"Content-Type: application/json\r\n"

RAW: dict[str, bytes] = {
    "/bad-status": b"HTTP/1.1 2OO OK\r\n" + _OK_HEAD + b"Content-Length: 2\r\n\r\n{}",
    "/bad-header": b"HTTP/1.1 200 OK\r\nthis is no header\r\nContent-Length: 2\r\n\r\n{}",
    "/huge-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * 100_000 + b"\r\n\r\n{}",
    "/short-body": b"HTTP/1.1 200 OK\r\n"
    + _OK_HEAD
    + b'Content-Length: 1000\r\n\r\n{"answer": "par',
    "/bad-chunked": b"HTTP/1.1 200 OK\r\n" + _OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "/not-http": b"SSH-2.0-OpenSSH_9.6\r\n",
    "/close": b"",
    "/bad-gzip": b"HTTP/1.1 200 OK\r\n"
    + _OK_HEAD
    + b"Content-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzip at!",
}


async def _raw_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1].split("?")[0]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        writer.write(RAW.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


# ---------------------------------------------------------------- running them


@contextmanager
def serve_hostile() -> Iterator[Hostile]:
    """The three servers on free 127.0.0.1 ports, on one loop in a background thread."""
    log = HostileLog()
    ports = [free_port(), free_port(), free_port()]
    main_url, other_url, raw_url = (f"http://127.0.0.1:{p}" for p in ports)
    loop = asyncio.new_event_loop()
    runners = [
        web.AppRunner(_main_app(log, other_url), access_log=None),
        web.AppRunner(_other_app(log), access_log=None),
    ]
    ready = threading.Event()
    raw: list[asyncio.Server] = []

    async def start() -> None:
        for runner, port in zip(runners, ports, strict=False):
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        raw.append(await asyncio.start_server(_raw_client, "127.0.0.1", ports[2]))

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    async def stop() -> None:
        raw[0].close()
        for runner in runners:
            await runner.cleanup()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield Hostile(url=main_url, other_url=other_url, raw_url=raw_url, log=log)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


if __name__ == "__main__":  # print the URLs and serve until interrupted, for manual poking
    import time

    with serve_hostile() as h:
        print(h.url, h.other_url, h.raw_url, flush=True)
        while True:
            time.sleep(3600)
