"""IFEval ``language:response_language``: the whole response is in the given language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.langid import detect_language
from cujeval.scorers.instructions.params import Param, language
from cujeval.scorers.instructions.registry import Exchange, instruction


def is_in_language(text: str, code: str) -> bool:
    """langdetect's top language is ``code``; text it cannot place (no letters) passes, as
    upstream does."""
    found = detect_language(text)
    return found is None or found == code


@instruction("language:response_language", Param("language", language()), heavy=True)
def response_language(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The detected language of the whole text is ``language``."""
    return is_in_language(text, kw["language"])
