"""IFEval ``startend:*``: the ending phrase; the whole response in double quotes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.params import Param, text
from cujeval.scorers.instructions.registry import Exchange, instruction


@instruction("startend:end_checker", Param("end_phrase", text(strip=True)))
def end_checker(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The text, stripped of spaces then of ``"``, ends with ``end_phrase`` (any case)."""
    return text.strip().strip('"').lower().endswith(kw["end_phrase"].lower())


@instruction("startend:quotation")
def quotation(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """The stripped text is at least two characters, opening and closing with ``"``."""
    body = text.strip()
    return len(body) > 1 and body[0] == '"' and body[-1] == '"'
