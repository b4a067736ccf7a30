"""``product:no_pii``: no e-mail address, phone number or payment card number in the answer.

Card numbers are 13 to 19 digits (single spaces or dashes allowed between them) that pass
the Luhn check. Phone numbers are international (``+`` then 8 to 15 digits, with spaces,
dots, dashes or parentheses) or North American (``(555) 123-4567``, ``555-123-4567``,
``555.123.4567``). Dates, prices and years are not phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cujeval.scorers.instructions.params import Param, choices_list
from cujeval.scorers.instructions.registry import Exchange, Outcome, instruction

KINDS = ("email", "phone", "card")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d[\d \t().-]{6,22}\d(?!\d)")
_NORTH_AMERICAN = re.compile(r"(?<![\d-])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\d-])")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum: from the right, double every second digit (minus 9 above 9); the sum
    is a multiple of 10."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(span: str) -> str:
    return re.sub(r"\D", "", span)


def find_pii(text: str, kinds: Sequence[str] = KINDS) -> list[tuple[str, str]]:
    """``(kind, match)`` for every piece of personal data of the given kinds in ``text``."""
    found: list[tuple[str, str]] = []
    if "email" in kinds:
        found += [("email", m.group()) for m in _EMAIL.finditer(text)]
    if "card" in kinds:
        found += [
            ("card", m.group())
            for m in _CARD.finditer(text)
            if 13 <= len(_digits(m.group())) <= 19 and luhn_valid(_digits(m.group()))
        ]
    if "phone" in kinds:
        phones = [m for m in _INTERNATIONAL.finditer(text) if 8 <= len(_digits(m.group())) <= 15]
        covered = [m.span() for m in phones]
        phones += [
            m
            for m in _NORTH_AMERICAN.finditer(text)
            if not any(start <= m.start() and m.end() <= end for start, end in covered)
        ]
        found += [("phone", m.group()) for m in sorted(phones, key=lambda m: m.start())]
    return found


@instruction("product:no_pii", Param("kinds", choices_list(KINDS), default=KINDS))
def no_pii(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """No e-mail, phone or card number (``kinds`` limits which are looked for)."""
    found = find_pii(text, kw["kinds"])
    return Outcome(not found, "found " + ", ".join(f"{k} {masked(m)}" for k, m in found[:5]))


def masked(value: str) -> str:
    """Enough of a piece of personal data to find it in the answer, never all of it: the
    first and last two characters (``jo…om``), so a report does not repeat it whole."""
    value = value.strip()
    return f"{value[:2]}…{value[-2:]}" if len(value) > 6 else "…"
