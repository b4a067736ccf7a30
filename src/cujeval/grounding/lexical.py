"""Word-level views of text for support checks: content-word stems, numbers, negation, rarity.

Pure Python and regular expressions, no language data to download: a light suffix stemmer
and a fixed English stop-word list are enough to ask "does the context use these words?".
Word rarity comes from the packaged MiniLM's WordPiece vocabulary, which lists whole words
roughly by corpus frequency.
"""

from __future__ import annotations

import itertools
import math
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
    according additional additionally answer answers appear appears based certain clear
    clearly conclude conclusion context contexts describe describes detail details
    discuss discusses document documents explain explains explicitly following given
    highlight highlights hint hints important indicate indicates information insight
    insights mention mentioned mentioning mentions note notes passage passages provide
    provided provides question questions source sources specific state stated states
    suggest suggests summary text unable understand
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
_LABEL_NUMBER = re.compile(
    r"\b(?:steps?|options?|methods?|passages?|tips?|parts?|stages?|phases?|ways?|no\.|#)"
    r"\s*\d+(?:\s*(?:,|&|and|or|-)\s*\d+)*",
    re.IGNORECASE,
)
_CONVERSION = re.compile(
    r"(?<=\d)([^\d()]{0,25})\(\s*(?:about |approx\.? |~)?[\d.,\s\-–]+[^()]{0,25}\)"
)


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens; "n't" splits off (``can't`` -> ``ca``, ``n't``)."""
    out: list[str] = []
    for token in _WORD.findall(text):
        low = token.lower().strip("'-")
        if low.endswith("n't"):
            out.extend((low[:-3], "n't") if len(low) > 3 else ("n't",))
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


_META_STEMS = frozenset(stem(w) for w in META_WORDS)


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning: no stop words, no meta words, no numbers."""
    return [s for _, s in content_words(text)]


def bigrams(stems: list[str]) -> set[tuple[str, str]]:
    """Adjacent pairs of content stems."""
    return set(itertools.pairwise(stems))


def numbers(text: str) -> set[str]:
    """The quantities a text states as facts: all but list labels ("step 4", "Option 2",
    "passage 3") and parenthesised unit conversions ("58 °F (15 °C)")."""
    return quantities(_LABEL_NUMBER.sub(" ", _CONVERSION.sub(" ", text)))


def quantities(text: str) -> set[str]:
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
        if len(word) > 1 and word not in STOP_WORDS and stem(word) not in _META_STEMS:
            names.add(word)
    return names


_VOCAB_FIRST_WORD = 2000
_VOCAB_SIZE = 30522


@lru_cache(maxsize=1)
def _vocabulary_rank() -> dict[str, int]:
    """Word -> WordPiece id (its line in vocab.txt), from the shipped tokenizer.json."""
    import json

    from cujeval.models.minilm import MODEL_DIR

    data = json.loads((MODEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))
    vocabulary: dict[str, int] = data["model"]["vocab"]
    return {w: i for w, i in vocabulary.items() if w.isalpha()}


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """How uncommon a word is, 0..1: log(rank / 2000) / log(30522 / 2000) by its position in
    the MiniLM vocabulary (frequent words first); 1 for words the vocabulary lacks."""
    rank = _vocabulary_rank().get(word.lower())
    if rank is None:
        return 1.0
    ratio = math.log(max(rank, _VOCAB_FIRST_WORD) / _VOCAB_FIRST_WORD)
    return min(1.0, ratio / math.log(_VOCAB_SIZE / _VOCAB_FIRST_WORD))


def content_words(text: str) -> list[tuple[str, str]]:
    """(word, stem) pairs of the words that carry meaning (see :func:`content_stems`)."""
    out: list[tuple[str, str]] = []
    for w in words(text):
        if w in STOP_WORDS or w[0].isdigit() or len(w) < 2:
            continue
        s = stem(w)
        if s not in _META_STEMS:
            out.append((w, s))
    return out
