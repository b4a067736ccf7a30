"""``product:cites_sources`` (alias ``cites_sources``): the answer cites what the target
retrieved, and nothing else.

A citation is a bracket group not followed by ``(`` (a markdown link) whose comma- or
semicolon-separated items are numbers, number ranges or ids without spaces: ``[2]``,
``[1, 3]``, ``[2-4]``, ``[^1]``, ``[doc-7]``. ``[n]`` points at the n-th returned context
(1-based) or at a context whose id is ``n``; ``[x]`` at the context whose id is ``x`` (any
case). Bracket groups of words (``[see above]``) are not citations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cujeval.scorers.instructions.registry import Exchange, Outcome, instruction
from cujeval.spec.records import Observation

_GROUP = re.compile(r"\[([^\[\]\n]{1,200})\](?!\()")
_SPLIT = re.compile(r"[,;]")
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_ID = re.compile(r"[\w.:/#-]+")
_MAX_RANGE = 100


@dataclass(frozen=True)
class Citation:
    """One cited item: the text inside the brackets and the 1-based positions it may mean."""

    item: str
    positions: tuple[int, ...] = ()


def _parse_item(item: str) -> Citation | None:
    item = item.strip().removeprefix("^").strip()
    if item.isdigit():
        return Citation(item, (int(item),))
    span = _RANGE.fullmatch(item)
    if span:
        low, high = int(span.group(1)), int(span.group(2))
        if low <= high and high - low < _MAX_RANGE:
            return Citation(item, tuple(range(low, high + 1)))
    if _ID.fullmatch(item):
        return Citation(item)
    return None


def citations(text: str) -> Iterator[Citation]:
    """Every cited item in ``text``, in order of appearance."""
    for group in _GROUP.finditer(text):
        items = [_parse_item(part) for part in _SPLIT.split(group.group(1))]
        if items and all(c is not None for c in items):
            yield from (c for c in items if c is not None)


def _resolves(citation: Citation, ids: set[str], count: int) -> bool:
    if citation.item.lower() in ids:
        return True
    return bool(citation.positions) and all(1 <= p <= count for p in citation.positions)


def unresolved(text: str, obs: Observation | None) -> tuple[int, list[str]]:
    """The number of cited items, and those that point at no returned context."""
    contexts = (obs.contexts if obs else None) or ()
    ids = {c.id.lower() for c in contexts if c.id is not None}
    found = list(citations(text))
    return len(found), [c.item for c in found if not _resolves(c, ids, len(contexts))]


@instruction("product:cites_sources", aliases=("cites_sources",))
def cites_sources(text: str, _kw: Mapping[str, Any], exchange: Exchange) -> Outcome:
    """At least one citation, and every citation points at a context the target returned."""
    count, dangling = unresolved(text, exchange.obs)
    if count == 0:
        return Outcome(False, "no citation")
    contexts = len((exchange.obs.contexts if exchange.obs else None) or ())
    if dangling:
        cited = ", ".join(f"[{c}]" for c in dangling[:5])
        return Outcome(False, f"{cited}: no such context ({contexts} returned)")
    return Outcome(True, f"{count} citations")
