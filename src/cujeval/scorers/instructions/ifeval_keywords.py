"""IFEval ``keywords:*``: keywords present, absent, frequent enough; letter frequency.

As upstream, keywords are regular expressions matched case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.compare import holds
from cujeval.scorers.instructions.params import Param, character, integer, pattern, relation, texts
from cujeval.scorers.instructions.registry import Exchange, instruction


@instruction("keywords:existence", Param("keywords", texts(item=pattern())))
def existence(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Every keyword occurs in the text (case-insensitive search)."""
    return all(re.search(k, text, flags=re.IGNORECASE) for k in kw["keywords"])


@instruction(
    "keywords:frequency",
    Param("keyword", pattern(strip=True)),
    Param("frequency", integer()),
    Param("relation", relation()),
)
def frequency(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The keyword's non-overlapping case-insensitive occurrences compare to ``frequency``."""
    found = len(re.findall(kw["keyword"], text, flags=re.IGNORECASE))
    return holds(found, kw["relation"], kw["frequency"])


@instruction("keywords:forbidden_words", Param("forbidden_words", texts(item=pattern())))
def forbidden_words(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """No forbidden word occurs as a whole word (between ``\\b`` boundaries, any case)."""
    return not any(
        re.search(rf"\b{word}\b", text, flags=re.IGNORECASE) for word in kw["forbidden_words"]
    )


@instruction(
    "keywords:letter_frequency",
    Param("letter", character()),
    Param("let_frequency", integer()),
    Param("let_relation", relation()),
)
def letter_frequency(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Occurrences of the letter, case folded, compare to ``let_frequency``."""
    letter = kw["letter"].lower()
    return holds(text.lower().count(letter), kw["let_relation"], kw["let_frequency"])
