"""Server-Timing headers read by the http target into ``Observation.steps`` (seconds)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cujeval.spec.records import GoldenCase
from cujeval.spec.targets import HttpTargetSpec
from cujeval.targets.http import HttpTarget, parse_server_timing


def test_parse_server_timing_reads_durations_in_milliseconds() -> None:
    assert parse_server_timing(['retrieval;dur=12.5, generation;desc="LLM";dur=80']) == {
        "retrieval": pytest.approx(0.0125),
        "generation": pytest.approx(0.080),
    }


def test_parse_server_timing_adds_repeats_and_skips_what_it_cannot_read() -> None:
    headers = [
        "db;dur=2, db;dur=3, cache;desc=hit, bad name;dur=1",
        'x;dur=abc, y;dur=-1, z;dur=nan, w;dur=inf, retrieval;dur="4"',
    ]
    assert parse_server_timing(headers) == {
        "db": pytest.approx(0.005),
        "retrieval": pytest.approx(0.004),
    }
    assert parse_server_timing([]) == {}
    assert parse_server_timing([";;,,=,"]) == {}


def test_parse_server_timing_keeps_a_bounded_number_of_steps() -> None:
    many = ", ".join(f"s{i};dur=1" for i in range(100))
    assert len(parse_server_timing([many])) == 32


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"answer": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/timed":
            self.send_header("Server-Timing", "retrieval;dur=20")
            self.send_header("Server-Timing", "generation;dur=30.5")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _call(url: str) -> dict[str, float] | None:
    async def go() -> dict[str, float] | None:
        target = HttpTarget(
            "t", HttpTargetSpec(kind="http", url=url, response={"answer": "answer"})
        )
        try:
            return (await target.call(GoldenCase(id="c", input="q"))).steps
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_the_http_target_records_steps_from_every_server_timing_header(server: str) -> None:
    assert _call(f"{server}/timed") == {
        "retrieval": pytest.approx(0.020),
        "generation": pytest.approx(0.0305),
    }
    assert _call(f"{server}/plain") is None
