"""Small text helpers of drift: words, languages, keywords naming a group, refusals, citations."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

_WORD = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]", re.IGNORECASE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can can't cannot could did do does doing don't down during
    each few for from further get got had has have having he her here hers him his how i i'm if
    in into is isn't it it's its itself just me more most my no nor not now of off on once only or
    other our ours out over own same she should so some such than that that's the their theirs
    them then there these they this those through to too under until up us very was we were what
    what's when where which while who whom why will with would you your yours yourself""".split()  # noqa: SIM905
)

_REFUSAL = re.compile(
    r"\b(i\s+(?:can(?:no|')t|could(?:n't| not)|am unable to|'m unable to|am not able to|'m not "
    r"able to)\s+(?:find|answer|help|say|tell|provide|determine)|i\s+(?:do not|don't)\s+know|"
    r"(?:i'm|i am)\s+sorry|no (?:relevant )?information (?:about|on|in)|"
    r"(?:do not|don't) have (?:enough |any )?information|unable to (?:answer|find|help))",
    re.IGNORECASE,
)


def words(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())


def tokens(text: str) -> list[str]:
    """Lower-case content words of three letters or more, stopwords dropped."""
    return [
        w
        for w in (m.group(0).lower() for m in _WORD.finditer(text))
        if len(w) >= 3 and w not in STOPWORDS
    ]


@lru_cache(maxsize=65536)
def language(text: str) -> str:
    """langdetect's language code with a fixed seed (cujeval's deterministic wrapper), or
    ``unknown`` for text with nothing to go on."""
    from cujeval.scorers.instructions.langid import detect_language

    return detect_language(text) or "unknown"


def keywords(group: Sequence[str], background: Sequence[str], n: int = 4) -> list[str]:
    """Words that set ``group`` apart from ``background``: by document frequency,
    score(w) = df_group(w)/|group| · ln((1 + |background|) / (1 + df_background(w))),
    words in at least two texts of the group first (when the group has two or more)."""
    df_group: Counter[str] = Counter()
    for t in group:
        df_group.update(set(tokens(t)))
    df_back: Counter[str] = Counter()
    for t in background:
        df_back.update(set(tokens(t)))
    size = max(len(group), 1)
    scored = sorted(
        (
            (
                (min(c, 2) if len(group) > 1 else 1),
                c / size * math.log((1 + len(background)) / (1 + df_back[w])),
                w,
            )
            for w, c in df_group.items()
        ),
        key=lambda item: (-item[0], -item[1], item[2]),
    )
    return [w for _, score, w in scored[:n] if score > 0]


def is_refusal(answer: str) -> bool:
    """The answer declines ("I couldn't find…", "I don't know", "I'm sorry…")."""
    return bool(_REFUSAL.search(answer))


def citation_count(answer: str) -> int:
    """Cited items in the answer (``[2]``, ``[kb-012]``, ``[1, 3]``), as the ``cites_sources``
    instruction counts them."""
    from cujeval.scorers.instructions.product_citations import citations

    return sum(1 for _ in citations(answer))


def shorten(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def counts(values: Iterable[str]) -> dict[str, int]:
    """Value counts, most common first (ties by name)."""
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))
