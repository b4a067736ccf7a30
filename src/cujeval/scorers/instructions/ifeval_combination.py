"""IFEval ``combination:*``: two different responses; the prompt repeated before the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.params import Param, text
from cujeval.scorers.instructions.registry import Exchange, instruction

_SEPARATOR = "******"


@instruction("combination:two_responses")
def two_responses(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """Exactly two non-blank, different responses separated by ``******``.

    Blank pieces are allowed only before the first or after the last separator.
    """
    pieces = text.split(_SEPARATOR)
    last = len(pieces) - 1
    answers = []
    for index, piece in enumerate(pieces):
        if piece.strip():
            answers.append(piece.strip())
        elif index not in (0, last):
            return False
    return len(answers) == 2 and answers[0] != answers[1]


@instruction("combination:repeat_prompt", Param("prompt_to_repeat", text()))
def repeat_prompt(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The stripped text starts with the stripped ``prompt_to_repeat``, ignoring case."""
    return text.strip().lower().startswith(kw["prompt_to_repeat"].strip().lower())
