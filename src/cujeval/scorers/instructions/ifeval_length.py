"""IFEval ``length_constraints:*``: counts of words, sentences and paragraphs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.compare import holds
from cujeval.scorers.instructions.params import Param, integer, relation, text
from cujeval.scorers.instructions.registry import Exchange, instruction
from cujeval.scorers.instructions.text import count_sentences, count_words

_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_FIRST_WORD_STOP = frozenset(".,?!'\"")


@instruction(
    "length_constraints:number_words",
    Param("num_words", integer()),
    Param("relation", relation()),
)
def number_words(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The word count (runs of ``\\w``) compares to ``num_words``."""
    return holds(count_words(text), kw["relation"], kw["num_words"])


@instruction(
    "length_constraints:number_sentences",
    Param("num_sentences", integer()),
    Param("relation", relation()),
    heavy=True,
)
def number_sentences(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The sentence count (English Punkt) compares to ``num_sentences``."""
    return holds(count_sentences(text), kw["relation"], kw["num_sentences"])


@instruction("length_constraints:number_paragraphs", Param("num_paragraphs", integer(minimum=1)))
def number_paragraphs(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by the markdown divider ``***``.

    A blank piece before the first or after the last divider is ignored; a blank piece
    between two dividers fails the check.
    """
    pieces = _DIVIDER.split(text)
    last = len(pieces) - 1
    count = len(pieces)
    for index, piece in enumerate(pieces):
        if piece.strip():
            continue
        if index not in (0, last):
            return False
        count -= 1
    expected: int = kw["num_paragraphs"]
    return count == expected


def _first_word(paragraph: str) -> str:
    """The paragraph's first word, lower-cased, cut at the first ``. , ? ! ' "``, leading
    quotes dropped."""
    word = paragraph.split()[0].lstrip("'").lstrip('"')
    out = []
    for char in word:
        if char in _FIRST_WORD_STOP:
            break
        out.append(char.lower())
    return "".join(out)


def _nth_within_count(kw: Mapping[str, Any]) -> str | None:
    if kw["nth_paragraph"] > kw["num_paragraphs"]:
        return "kwarg 'nth_paragraph' must not exceed 'num_paragraphs'"
    return None


@instruction(
    "length_constraints:nth_paragraph_first_word",
    Param("num_paragraphs", integer(minimum=1)),
    Param("nth_paragraph", integer(minimum=1)),
    Param("first_word", text()),
    rule=_nth_within_count,
)
def nth_paragraph_first_word(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """``num_paragraphs`` non-blank paragraphs split on ``\\n\\n``, and paragraph
    ``nth_paragraph`` (counted among all pieces, blank ones too) starts with ``first_word``."""
    pieces = text.split("\n\n")
    count = sum(1 for p in pieces if p.strip())
    nth = kw["nth_paragraph"]
    if nth > count:
        return False
    paragraph = pieces[nth - 1].strip()
    if not paragraph:
        return False
    expected: int = kw["num_paragraphs"]
    word: str = kw["first_word"]
    return count == expected and _first_word(paragraph) == word.lower()
