"""Word-level views of text for support checks: content-word stems, numbers, negation.

Pure Python and regular expressions, no language data to download: a light suffix stemmer
and a fixed English stop-word list are enough to ask "does the context use these words?".
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d[\d,]*(?:\.\d+)?")


def _word_list(text: str) -> list[str]:
    return text.split()


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|\d+(?:\.\d+)?")

STOP_WORDS = _word_set(
    """
    a able about above additionally after again against all also am an and any are aren't
    as at be because been before being below between both but by can could did do does
    doing down during e e.g each eg either etc few for from further furthermore g
    generally had has have having he her here hers herself him himself his how however i
    i.e ie if in include includes including into is it its itself just known let like many
    may me might more most much must my myself nor of off often on once one ones only or
    other our ours ourselves out over overall own per same shall she should so some such
    than that the their theirs them themselves then there therefore these they this those
    through thus to too typically under until up upon us use used using usually very via
    was we well were what when where which while who whom whose why will with within would
    you your yours yourself yourselves
    """
)
META_WORDS = _word_set(
    """
    according answer answers based certain clear clearly conclusion context contexts
    detail details document documents explicitly following given important information
    mention mentioned mentioning mentions note passage passages provided question
    questions sorry source sources specific state stated states summary text unable
    """
)
NEGATIONS = _word_set(
    """
    cannot lack lacks n't neither never no nobody none nor not nothing nowhere without
    """
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        _word_list(
            """
            zero one two three four five six seven eight nine ten eleven twelve
            thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty
            """
        )
    )
}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"})


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens; ``can't`` splits into ``ca`` + ``n't`` style."""
    out: list[str] = []
    for token in _WORD.findall(text):
        low = token.lower().strip("'-")
        if low.endswith("n't"):
            out.extend((low[:-3], "n't"))
        elif low:
            out.append(low)
    return out


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stemmer: plurals, -ing, -ed, -ly, -ies; then at most 7 characters.

    Crude on purpose: it only has to map inflections of one word to one key.
    """
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""), ("ed", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + repl
            break
    else:
        if (w.endswith("ly") and len(w) > 5) or (
            w.endswith("es") and len(w) > 4 and w[-3] in "sxz"
        ):
            w = w[:-2]
        elif w.endswith("s") and len(w) > 3 and w[-2] not in "su":
            w = w[:-1]
    return w[:7]


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning: no stop words, no meta words, no numbers."""
    return [
        stem(w)
        for w in words(text)
        if w not in STOP_WORDS and w not in META_WORDS and not w[0].isdigit() and len(w) > 1
    ]


def bigrams(stems: list[str]) -> set[tuple[str, str]]:
    """Adjacent pairs of content stems."""
    return set(itertools.pairwise(stems))


def numbers(text: str) -> set[str]:
    """Numbers in the text, normalised: ``1,000`` -> 1000, ``nine`` -> 9, ``2.50`` -> 2.5."""
    found: set[str] = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        found.add(value)
    for w in words(text):
        if w in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[w])
    return found


def negated(text: str) -> bool:
    """True when the text holds a negation word (not, no, never, n't, without, ...)."""
    return any(w in NEGATIONS for w in words(text))


def capitalised_names(text: str) -> set[str]:
    """Lower-cased capitalised words that do not start a sentence: a cheap proper-noun guess."""
    names: set[str] = set()
    for match in re.finditer(r"(?<=[a-z,;:] )([A-Z][a-zA-Z\-]+)", text):
        word = match.group(1).lower()
        if word not in STOP_WORDS and word not in META_WORDS:
            names.add(word)
    return names
