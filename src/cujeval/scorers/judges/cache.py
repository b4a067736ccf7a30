"""The judge's disk cache: a re-run pays for no judge call it has already made.

Keyed by ``sha256(model, messages, params, epoch, repeat)``: the full request except transport
settings, the epoch (so K epochs are K judgements) and the repeat index of an identical request
within one judgement (so a metric that samples the same prompt several times at a temperature
above zero keeps its samples apart). Values are the server's ChatCompletion as JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

_VERSION = 1


def request_key(request: Mapping[str, Any], *, epoch: int, repeat: int) -> str:
    """A stable hex digest of one chat request as the judge sends it."""
    model = request.get("model")
    messages = request.get("messages")
    params = {k: v for k, v in request.items() if k not in ("model", "messages", "timeout")}
    blob = json.dumps(
        {
            "v": _VERSION,
            "model": model,
            "messages": messages,
            "params": params,
            "epoch": epoch,
            "repeat": repeat,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A process- and thread-safe store on disk (diskcache, SQLite underneath)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._store: Any = None

    def _open(self) -> Any:
        if self._store is None:
            import diskcache

            self._store = diskcache.Cache(self.directory)
        return self._store

    def get(self, key: str) -> str | None:
        value = self._open().get(key)
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        self._open().set(key, value)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
