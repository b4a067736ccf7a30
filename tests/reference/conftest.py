"""Fixtures: the real service started by the launcher, and in-process servers for faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cujeval.reference.corpus import default_corpus_path, load_articles
from cujeval.reference.index import DenseIndex
from cujeval.reference.launch import RunningService, free_port, start_rag_service
from cujeval.reference.rag import RagConfig, create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def service() -> Iterator[RunningService]:
    """The bundled service with no faults, as a subprocess on 127.0.0.1."""
    with start_rag_service() as running:
        yield running


@pytest.fixture(scope="session")
def shared_index() -> DenseIndex:
    """The bundled corpus embedded once in this process, shared by in-process servers."""
    return DenseIndex.build(load_articles(default_corpus_path()))


class ThreadedServer:
    """uvicorn serving an app on a free 127.0.0.1 port from a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"in-process server on {self.url} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve(shared_index: DenseIndex) -> Iterator[Callable[..., str]]:
    """``serve(error_rate=1.0, ...)`` -> base URL of a real HTTP server with that RagConfig."""
    servers: dict[tuple[tuple[str, Any], ...], ThreadedServer] = {}

    def start(**options: Any) -> str:
        key = tuple(sorted(options.items()))
        if key not in servers:
            app = create_app(RagConfig(**options), index=shared_index)
            servers[key] = ThreadedServer(app)
            servers[key].start()
        return servers[key].url

    yield start
    for server in servers.values():
        server.stop()
