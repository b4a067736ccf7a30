"""IFEval ``detectable_content:*``: placeholders in square brackets; a postscript."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.params import Param, integer, pattern
from cujeval.scorers.instructions.registry import Exchange, instruction

_PLACEHOLDER = re.compile(r"\[.*?\]")
_POSTSCRIPT = {
    "P.P.S": re.compile(r"\s*p\.\s?p\.\s?s.*$", flags=re.MULTILINE),
    "P.S.": re.compile(r"\s*p\.\s?s\..*$", flags=re.MULTILINE),
}


@instruction("detectable_content:number_placeholders", Param("num_placeholders", integer()))
def number_placeholders(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """At least ``num_placeholders`` bracketed spans ``[...]`` (shortest match, one line)."""
    minimum: int = kw["num_placeholders"]
    return len(_PLACEHOLDER.findall(text)) >= minimum


@instruction("detectable_content:postscript", Param("postscript_marker", pattern(strip=True)))
def postscript(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Some line contains the marker, case-insensitively.

    ``P.S.`` and ``P.P.S`` tolerate one space after each dot; any other marker is a regular
    expression matched against the lower-cased text.
    """
    marker = kw["postscript_marker"]
    regex = _POSTSCRIPT.get(marker) or re.compile(
        r"\s*" + marker.lower() + r".*$", flags=re.MULTILINE
    )
    return regex.search(text.lower()) is not None
