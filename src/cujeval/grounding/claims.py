"""Split an answer into claims and a passage into sentences, keeping character offsets.

A claim is a sentence or a list item of the answer; offsets let labelled spans map onto claims.
A claim is *not checkable* when it only hedges or introduces ("I'm sorry", "Based on the
passages, here is how:"), heads a list ("The steps are:"), or merely restates the question
(unless the question is a yes/no one, where restating it is the answer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cujeval.grounding.lexical import content_stems, numbers

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
_CITATION = re.compile(
    r"passages?\s*(\d+(?:\s*(?:,\s*(?:and|or)?|&|and|or)\s*\d+)*)", re.IGNORECASE
)
_BRACKET_CITATION = re.compile(r"\[(\d+)\]")
_ID_CITATION = re.compile(r"\[[\w.:#/-]{1,64}\]")  # [kb-012], [doc_3], [1]: a token, no spaces
_CITATION_ONLY = re.compile(
    r"^[(\[]?\s*(?:ref(?:erence)?s?:?\s*)?(?:passages?|source)?\s*[\d,&\sand]+[)\]]?\.?$",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"(?:i'?m sorry|i am sorry|i apologi[sz]e|unable to (?:answer|provide|determine|find)|"
    r"(?:cannot|can't|could not|couldn't) (?:answer|provide|determine|find)|"
    r"(?:passages?|context|text|information) (?:do(?:es)?n't|do(?:es)? not) "
    r"(?:provide|contain|mention|include|specify|say|state)|"
    r"not (?:enough|sufficient) information|i hope (?:this|that) helps|let me know if|"
    r"^(?:sure|certainly|of course|good luck|great question)\b|happy to help|do my best)",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^(?:based on|according to|from) (?:the )?(?:given |provided |above |retrieved )?"
    r"(?:passages?|context|information|text)[^,:]*[,:]?\s*(?:here (?:is|are)[^:]*:?)?$",
    re.IGNORECASE,
)
_YES_NO_QUESTION = re.compile(
    r"^\s*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|shall|may)"
    r"\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    """One unit of an answer: its text, where it sits, and the passages it cites (0-based)."""

    text: str
    start: int
    end: int
    cites: frozenset[int] = frozenset()

    @property
    def body(self) -> str:
        """The text without its passage citations, for word-level checks."""
        return strip_citations(self.text)


def cited_passages(text: str) -> frozenset[int]:
    """Zero-based indices of the passages a text cites ("(Passage 2 & 3)", "[1]")."""
    cited: set[int] = set()
    for match in _CITATION.finditer(text):
        cited.update(int(n) - 1 for n in re.findall(r"\d+", match.group(1)))
    cited.update(int(n) - 1 for n in _BRACKET_CITATION.findall(text))
    return frozenset(cited)


def strip_citations(text: str) -> str:
    """The text with "(Passage 2)", "passages 1 and 3", "[1]", "[kb-012]" removed."""
    return _ID_CITATION.sub("", _CITATION.sub("", text))


def _sentence_spans(text: str, offset: int) -> Iterable[tuple[int, int]]:
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ABBREVIATION.search(text[max(0, match.start() - 6) : match.start()]):
            continue
        yield offset + start, offset + match.start()
        start = match.end()
    yield offset + start, offset + len(text)


def split_sentences(text: str) -> list[Claim]:
    """Sentences and list items of ``text`` with their offsets; list markers are dropped.

    A bare citation ("(Passage 2)") joins the sentence before it; the sentences of a list
    item that cites passages inherit the item's citation.
    """
    out: list[Claim] = []
    position = 0
    for line in text.split("\n"):
        line_start = position
        position += len(line) + 1
        marker = _LIST_MARKER.match(line)
        line_cites = cited_passages(line) if marker else frozenset()
        skip = marker.end() if marker else 0
        for start, end in _sentence_spans(line[skip:], line_start + skip):
            piece = text[start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            first = start + len(piece) - len(piece.lstrip())
            last = first + len(stripped)
            if out and out[-1].end >= line_start and _CITATION_ONLY.match(stripped):
                before = out[-1]
                out[-1] = Claim(text[before.start : last], before.start, last, before.cites)
                continue
            out.append(Claim(stripped, first, last, cited_passages(stripped) or line_cites))
    return out


def split_claims(answer: str) -> list[Claim]:
    """The answer's claims: its sentences and list items, in order."""
    return split_sentences(answer)


def is_hedge(text: str) -> bool:
    """True for sentences that only apologise, refuse or introduce ("Based on the passages:")."""
    return bool(_HEDGE.search(text) or _INTRO.match(text.strip()))


def is_checkable(claim: Claim, question: str) -> bool:
    """Whether the claim states something the contexts can support or not (see module doc)."""
    body = claim.body
    if is_hedge(body) or body.rstrip().endswith(":"):
        return False
    if numbers(body) - numbers(question):
        return True
    stems = content_stems(body)
    if _YES_NO_QUESTION.match(question):
        return bool(stems)
    asked = set(content_stems(question))
    return any(s not in asked for s in stems)
