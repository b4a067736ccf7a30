"""The judge's disk cache: a re-run pays for no judge call it has already made.

Keyed by ``sha256`` of: the judge model; the prompt-template version (:func:`template_version`:
cujeval's own :data:`PROMPT_VERSION` with the installed ragas and instructor, whose prompts,
schemas and parsing shape the answer) and the version of a scorer's own prompt (a rubric's
``rubric/1``: a reworded template is never answered from the old one's entries); the settings
(temperature, max_tokens); the messages and other request parameters (transport settings left
out); the epoch (so K epochs are K judgements) and the repeat index of an identical request
within one judgement (so a metric that samples the same prompt several times at a temperature
above zero keeps its samples apart). Values are the server's ChatCompletion as JSON.

Only complete answers that parsed are stored (the client decides: see
:meth:`cujeval.scorers.judges.client.JudgeView.commit`); an answer cut at ``max_tokens`` or one
that did not parse is never stored, so a re-run asks again instead of failing again.

The cache lives in ``judge.cache_dir``, by default :func:`default_cache_dir` (the user cache
directory); ``cujeval cache clear`` empties it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

# Bump when cujeval changes how it prompts the judge or reads its answers: older entries are
# then never read again. 2: keys carry the template version and settings; only parsed answers.
PROMPT_VERSION = 2


@lru_cache(maxsize=1)
def template_version() -> str:
    """cujeval's prompt version with the versions of the libraries that write the prompts
    (ragas) and the response schemas and re-asks (instructor)."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"cujeval-judge/{PROMPT_VERSION}"]
    for dist in ("ragas", "instructor"):
        try:
            parts.append(f"{dist}/{version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist}/-")
    return " ".join(parts)


def request_key(
    request: Mapping[str, Any],
    *,
    epoch: int,
    repeat: int,
    temperature: float | None = None,
    max_tokens: int | None = None,
    prompt: str | None = None,
) -> str:
    """A stable hex digest of one chat request as the judge sends it. ``temperature`` and
    ``max_tokens`` are the judge's settings, used when the request does not carry its own;
    ``prompt`` the version of the scorer's own prompt template, if it has one."""
    params = {k: v for k, v in request.items() if k not in ("model", "messages", "timeout")}
    settings = {
        "temperature": request.get("temperature", temperature),
        "max_tokens": request.get("max_tokens", request.get("max_completion_tokens", max_tokens)),
    }
    blob = json.dumps(
        {
            "model": request.get("model"),
            "template": template_version() + (f" {prompt}" if prompt is not None else ""),
            "settings": settings,
            "messages": request.get("messages"),
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
        self.directory = str(Path(directory).expanduser())
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


def is_cache(directory: Path) -> bool:
    """Does ``directory`` hold a judge cache (diskcache's database)?"""
    return (directory / "cache.db").is_file()


def clear(directory: str | Path) -> int:
    """Empty the judge cache in ``directory``; the number of entries removed (0 when there
    is none). Only a diskcache store is touched: other files in the folder stay."""
    path = Path(directory).expanduser()
    if not is_cache(path):
        return 0
    import diskcache

    with diskcache.Cache(str(path)) as store:
        return int(store.clear())


def info(directory: str | Path) -> dict[str, Any]:
    """Path, entries and bytes on disk of the judge cache in ``directory``."""
    path = Path(directory).expanduser()
    if not is_cache(path):
        return {"path": str(path), "entries": 0, "bytes": 0}
    import diskcache

    with diskcache.Cache(str(path)) as store:
        return {"path": str(path), "entries": len(store), "bytes": int(store.volume())}
