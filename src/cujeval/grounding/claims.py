"""Split an answer into claims and a passage into sentences, keeping character offsets.

A claim is a sentence or a list item of the answer; offsets let labelled spans map onto claims.
Claims that only hedge ("I'm sorry", "Based on the passages, here is ...") or restate the
question carry nothing to check and are marked not checkable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cujeval.grounding.lexical import content_stems

_BOUNDARY = re.compile(
    r"""(?<=[.!?])["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])   # end mark, space, capital or digit
    |(?<=[a-z)][.!?])(?=[A-Z][a-z])                     # glued: "organisms.Nearly"
    """,
    re.VERBOSE,
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|dr|mr|mrs|ms|st|no|jr|sr|inc|approx|fig|u\.s|a\.m|p\.m)|"
    r"\b[A-Z]|\d)\.$",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•·]+|\(?\d{1,2}[.)]|\(?[a-hA-H][.)])\s+")
_HEDGE = re.compile(
    r"(?:i'?m sorry|i am sorry|i apologi[sz]e|unable to (?:answer|provide|determine|find)|"
    r"(?:cannot|can't|could not|couldn't) (?:answer|provide|determine|find)|"
    r"(?:passages?|context|text|information) (?:do(?:es)?n't|do(?:es)? not) "
    r"(?:provide|contain|mention|include|specify|say|state)|"
    r"not (?:enough|sufficient) information|i hope (?:this|that) helps|let me know if)",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^(?:based on|according to|from) (?:the )?(?:given |provided |above |retrieved )?"
    r"(?:passages?|context|information|text)[^,:]*[,:]?\s*(?:here (?:is|are)[^:]*:?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    """One checkable unit of an answer: its text and where it sits in the answer."""

    text: str
    start: int
    end: int


def _sentence_spans(text: str, offset: int) -> Iterable[tuple[int, int]]:
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ABBREVIATION.search(text[max(0, match.start() - 6) : match.start()]):
            continue
        yield offset + start, offset + match.start()
        start = match.end()
    yield offset + start, offset + len(text)


def split_sentences(text: str) -> list[Claim]:
    """Sentences and list items of ``text`` with their offsets; list markers are dropped."""
    out: list[Claim] = []
    position = 0
    for line in text.split("\n"):
        line_start = position
        position += len(line) + 1
        marker = _LIST_MARKER.match(line)
        skip = marker.end() if marker else 0
        for start, end in _sentence_spans(line[skip:], line_start + skip):
            piece = text[start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            lead = len(piece) - len(piece.lstrip())
            out.append(Claim(stripped, start + lead, start + lead + len(stripped)))
    return out


def split_claims(answer: str) -> list[Claim]:
    """The answer's claims: its sentences and list items, in order."""
    return split_sentences(answer)


def is_hedge(text: str) -> bool:
    """True for sentences that only apologise, refuse or introduce ("Based on the passages:")."""
    return bool(_HEDGE.search(text) or _INTRO.match(text.strip()))


def is_checkable(claim: str, question: str) -> bool:
    """A claim is checkable when it is no hedge, no list header ("...are:") and says something
    the question does not."""
    if is_hedge(claim) or claim.rstrip().endswith(":"):
        return False
    asked = set(content_stems(question))
    return any(s not in asked for s in content_stems(claim))
