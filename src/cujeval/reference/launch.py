"""Start the reference RAG service as a subprocess on a free 127.0.0.1 port, and stop it.

with start_rag_service(faults={"latency_ms": 50, "error_rate": 0.1}) as service:
    ...  # POST f"{service.url}/answer"
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import cujeval
from cujeval.errors import InputError, RunAborted, UnknownNameError
from cujeval.reference.faults import RATE_NAMES, check_latency, check_rate

FAULT_FLAGS = {
    "latency_ms": "--latency-ms",
    "error_rate": "--error-rate",
    "hallucination_rate": "--hallucination-rate",
    "drop_contexts": "--drop-contexts",
    "seed": "--seed",
}
_TAIL_CHARS = 4000
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP_PROXY


class RunningService:
    """A started service: ``url``, ``stop()``, and a context manager that stops it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log

    def stop(self, grace_s: float = 5.0) -> None:
        """Terminate, then kill if still alive after ``grace_s``. Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()

    def stderr_tail(self) -> str:
        """The last few thousand bytes the service wrote (read without moving the file offset)."""
        if self._log.closed:
            return ""
        fd = self._log.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - _TAIL_CHARS)
        return os.pread(fd, size - start, start).decode("utf-8", errors="replace")

    def __enter__(self) -> RunningService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (free now; not reserved)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fault_args(
    faults: Mapping[str, float] | None,
    *,
    flags: Mapping[str, str] = FAULT_FLAGS,
    rates: tuple[str, ...] = RATE_NAMES,
) -> list[str]:
    """CLI flags for ``faults`` (a service's ``flags``: name -> flag, of which ``rates`` are
    probabilities); unknown names and bad values raise InputError."""
    args: list[str] = []
    for name, value in (faults or {}).items():
        if name not in flags:
            raise UnknownNameError("fault", name, flags, field="faults")
        if name in rates:
            check_rate(name, value)
        elif name == "latency_ms":
            check_latency(value)
        elif not float(value).is_integer():
            raise InputError(f"must be an integer, got {value!r}", field="seed")
        args += [flags[name], str(int(value) if name == "seed" else float(value))]
    return args


def rag_command(
    *, faults: Mapping[str, float] | None = None, corpus: str | Path | None = None
) -> list[str]:
    """The argv that runs the service with ``faults`` (host and port are added at spawn)."""
    command = [sys.executable, "-m", "cujeval.reference", "rag", *fault_args(faults)]
    if corpus is not None:
        command += ["--corpus", str(Path(corpus).resolve())]
    return command


def start_rag_service(
    *,
    faults: Mapping[str, float] | None = None,
    port: int | None = None,
    ready_timeout_s: float = 120,
    corpus: str | Path | None = None,
) -> RunningService:
    """Start ``python -m cujeval.reference rag`` and wait until ``/health`` answers.

    Raises RunAborted, with the tail of the service's stderr, if it exits or is not ready in
    ``ready_timeout_s``. A port picked here that another process grabs first is retried.
    """
    return start_service(
        rag_command(faults=faults, corpus=corpus), port=port, ready_timeout_s=ready_timeout_s
    )


def start_service(
    command: list[str],
    *,
    port: int | None = None,
    ready_timeout_s: float = 120,
    health_path: str = "/health",
    label: str = "reference RAG service",
) -> RunningService:
    """Start ``command`` (``--host`` and ``--port`` are appended) and wait until
    ``health_path`` answers 200; see :func:`start_rag_service` for failures and retries."""
    attempts_left = 1 if port is not None else 3
    while True:
        attempts_left -= 1
        service = _spawn(command, port if port is not None else free_port())
        try:
            _wait_ready(service, ready_timeout_s, health_path=health_path, label=label)
            return service
        except RunAborted as exc:
            service.stop()
            if attempts_left == 0 or "address already in use" not in str(exc).lower():
                raise
        except BaseException:
            service.stop()
            raise


def _spawn(command: list[str], port: int) -> RunningService:
    env = dict(os.environ)
    src = str(Path(cujeval.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    log = tempfile.TemporaryFile(prefix="cujeval-service-")  # noqa: SIM115 closed by stop()
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
    )
    return RunningService(process, port, log)


def _wait_ready(
    service: RunningService,
    timeout_s: float,
    *,
    health_path: str = "/health",
    label: str = "reference RAG service",
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        code = service.process.poll()
        if code is not None:
            raise RunAborted(
                f"{label} exited with code {code} before it was ready "
                f"({service.url}); its output ends with:\n{service.stderr_tail()}"
            )
        try:
            with _DIRECT.open(f"{service.url}{health_path}", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            tail = service.stderr_tail()
            service.stop()
            raise RunAborted(
                f"{label} not ready at {service.url}{health_path} after {timeout_s:g} s; "
                f"its output ends with:\n{tail}"
            )
        time.sleep(0.1)
