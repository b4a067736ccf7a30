"""IFEval ``punctuation:no_comma``: no comma anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.registry import Exchange, instruction


@instruction("punctuation:no_comma")
def no_comma(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """The text contains no ``,`` (U+002C; other commas such as ``，`` are not checked)."""
    return "," not in text
