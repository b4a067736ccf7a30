"""Test-wide guards and shared real servers.

Every test runs offline: any socket connection to anything but 127.0.0.1 / ::1 fails loudly.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI draws the same examples on every run, so its verdict is reproducible; elsewhere each run
# draws new ones and keeps exploring (what it finds is pinned with @example).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_LOOPBACK = ("127.", "::1", "localhost")


def _check(address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str | bytes) and isinstance(address, tuple):
        h = host.decode() if isinstance(host, bytes) else host
        if not h.startswith(_LOOPBACK) and h not in ("0.0.0.0", "::ffff:127.0.0.1"):
            raise RuntimeError(f"network access outside 127.0.0.1 in a test: {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def fault_server() -> Iterator[tuple[str, Any]]:
    """The misbehaving test server (tests/servers.py) on 127.0.0.1."""
    from tests.servers import serve

    with serve() as (url, log):
        yield url, log


@pytest.fixture(scope="session")
def rag_service() -> Iterator[str]:
    """The bundled reference RAG service, started once for the session, no faults."""
    from cujeval.reference.launch import start_rag_service

    with start_rag_service() as service:
        yield service.url


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server on 127.0.0.1 with a fresh SQLite store."""
    from tests.mlflow_server import start_mlflow_server

    with start_mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url
