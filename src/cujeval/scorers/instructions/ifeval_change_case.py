"""IFEval ``change_case:*``: all capitals or all lowercase English; count of all-caps words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.compare import holds
from cujeval.scorers.instructions.ifeval_language import is_in_language
from cujeval.scorers.instructions.params import Param, integer, relation
from cujeval.scorers.instructions.registry import Exchange, instruction
from cujeval.scorers.instructions.text import word_tokens


@instruction("change_case:english_capital", heavy=True)
def english_capital(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """Every cased character is upper case (``str.isupper``) and the text is English."""
    return text.isupper() and is_in_language(text, "en")


@instruction("change_case:english_lowercase", heavy=True)
def english_lowercase(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """Every cased character is lower case (``str.islower``) and the text is English."""
    return text.islower() and is_in_language(text, "en")


@instruction(
    "change_case:capital_word_frequency",
    Param("capital_frequency", integer()),
    Param("capital_relation", relation()),
    heavy=True,
)
def capital_word_frequency(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Treebank tokens that are all capitals (``str.isupper``) compare to ``capital_frequency``.

    A hyphenated word is one token; a clitic is its own (``DON'T`` is ``DO`` + ``N'T``).
    """
    capitals = sum(1 for token in word_tokens(text) if token.isupper())
    return holds(capitals, kw["capital_relation"], kw["capital_frequency"])
