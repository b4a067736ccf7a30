"""IFEval ``detectable_format:*``: bullets, fixed answers, highlights, sections, JSON, title."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.params import Param, integer, pattern
from cujeval.scorers.instructions.registry import Exchange, instruction

_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", flags=re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", flags=re.MULTILINE)
_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_BOLD = re.compile(r"\*\*[^\n\*]*\*\*")
_TITLE = re.compile(r"<<[^\n]+>>")
_FIXED_ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
_FENCE_OPENINGS = ("```json", "```Json", "```JSON", "```")


@instruction("detectable_format:number_bullet_lists", Param("num_bullets", integer()))
def number_bullet_lists(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Exactly ``num_bullets`` lines start (after spaces) with ``*`` + a non-``*`` or ``-``."""
    bullets = len(_STAR_BULLET.findall(text)) + len(_DASH_BULLET.findall(text))
    expected: int = kw["num_bullets"]
    return bullets == expected


@instruction("detectable_format:constrained_response")
def constrained_response(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """The text contains "My answer is yes.", "My answer is no." or "My answer is maybe."."""
    return any(answer in text for answer in _FIXED_ANSWERS)


@instruction("detectable_format:number_highlighted_sections", Param("num_highlights", integer()))
def number_highlighted_sections(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    r"""At least ``num_highlights`` non-blank ``*...*`` or ``**...**`` spans, each on one line.

    count = non-blank matches of ``\*[^\n*]*\*`` + non-blank matches of ``\*\*[^\n*]*\*\*``.
    """
    single = sum(1 for h in _HIGHLIGHT.findall(text) if h.strip("*").strip())
    double = sum(1 for h in _BOLD.findall(text) if h[2:-2].strip())
    minimum: int = kw["num_highlights"]
    return single + double >= minimum


@instruction(
    "detectable_format:multiple_sections",
    Param("section_spliter", pattern(strip=True)),
    Param("num_sections", integer()),
)
def multiple_sections(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """At least ``num_sections`` headers "<section_spliter> <number>" (the spliter, a regular
    expression, is case-sensitive)."""
    splitter = r"\s?" + kw["section_spliter"] + r"\s?\d+\s?"
    minimum: int = kw["num_sections"]
    return len(re.split(splitter, text)) - 1 >= minimum


def strip_json_fence(text: str) -> str:
    """The text without a surrounding markdown code fence (```json ... ```), stripped."""
    body = text.strip()
    for opening in _FENCE_OPENINGS:
        body = body.removeprefix(opening)
    return body.removesuffix("```").strip()


@instruction("detectable_format:json_format")
def json_format(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """The text, without a surrounding code fence, parses as JSON."""
    try:
        json.loads(strip_json_fence(text))
    except ValueError:
        return False
    return True


@instruction("detectable_format:title")
def title(text: str, _kw: Mapping[str, Any], _: Exchange) -> bool:
    """A non-blank title in double angular brackets on one line: ``<<poem of joy>>``."""
    return any(t.lstrip("<").rstrip(">").strip() for t in _TITLE.findall(text))
