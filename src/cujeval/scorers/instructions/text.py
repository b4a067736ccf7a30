"""Text measures shared by the checks: words, sentences, tokens, lines, IFEval's loose variants.

Sentences follow the Punkt algorithm (nltk) without trained parameters, since the trained English
model is downloaded data; on IFEval's GPT-4 dev responses it gives the official verdicts.
nltk is imported on first use only.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"\w+")
_lock = threading.Lock()


def count_words(text: str) -> int:
    r"""Number of words: maximal runs of ``\w`` characters (IFEval's definition).

    ``"don't stop-now"`` has 4 words (``don``, ``t``, ``stop``, ``now``).
    """
    return sum(1 for _ in _WORD.finditer(text))


@lru_cache(maxsize=1)
def _sentence_splitter() -> Any:
    from nltk.tokenize.punkt import PunktSentenceTokenizer  # type: ignore[import-untyped]

    return PunktSentenceTokenizer()


@lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer  # type: ignore[import-untyped]

    return NLTKWordTokenizer()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` by untrained Punkt; an empty or blank text has none."""
    with _lock:
        splitter = _sentence_splitter()
    return list(splitter.tokenize(text))


def count_sentences(text: str) -> int:
    """Number of sentences of ``text`` (see :func:`split_sentences`)."""
    return len(split_sentences(text))


def word_tokens(text: str) -> list[str]:
    """Penn-Treebank-style tokens, sentence by sentence (what ``nltk.word_tokenize`` yields).

    Punctuation and clitics are split off: ``"I'M FINE."`` gives ``I``, ``'M``, ``FINE``, ``.``.
    """
    with _lock:
        tokenizer = _word_tokenizer()
    tokens: list[str] = []
    for sentence in split_sentences(text):
        tokens.extend(tokenizer.tokenize(sentence))
    return tokens


def loose_variants(response: str) -> tuple[str, ...]:
    """IFEval's loose variants of a response, the response itself first.

    The response, then without ``*``; then with its first line, last line, or both removed
    (each stripped), and those three again without ``*``. A loose check passes if any
    non-blank variant passes.
    """
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    return (
        response,
        response.replace("*", ""),
        no_first,
        no_last,
        no_both,
        no_first.replace("*", ""),
        no_last.replace("*", ""),
        no_both.replace("*", ""),
    )
