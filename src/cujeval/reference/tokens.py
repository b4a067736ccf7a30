"""Token counts for ``usage``: the MiniLM WordPiece tokenizer, without special tokens.

The reference service has no LLM, so it counts with the tokenizer it already ships: prompt
tokens = tokens of the question plus the retrieved passages (title and text), completion
tokens = tokens of the answer. Loaded from ``tokenizer.json`` alone (no torch).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    from cujeval.models.minilm import MODEL_DIR

    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count_tokens(text: str) -> int:
    """Number of WordPiece tokens in ``text`` (0 for an empty string)."""
    if not text:
        return 0
    tokenizer = _tokenizer()
    with _lock:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)
