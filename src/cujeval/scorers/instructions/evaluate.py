"""Strict and loose verdicts of instructions on one response (IFEval's two accuracies).

Strict: the check passes on the response as given. Loose: it passes on at least one of the
response's loose variants (see :func:`text.loose_variants`). A blank text never passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cujeval.scorers.instructions.registry import Exchange, canonical_id, lookup, parse_kwargs
from cujeval.scorers.instructions.text import loose_variants
from cujeval.spec.records import Instruction


@dataclass(frozen=True)
class Verdict:
    """One instruction's outcome on one response."""

    id: str
    strict: bool
    loose: bool


def follow(
    instructions: Iterable[Instruction], response: str, exchange: Exchange | None = None
) -> list[Verdict]:
    """The verdict of each instruction on ``response``, in order; ids reported canonical.

    Raises UnknownNameError / InputError for an unknown id or bad kwargs.
    """
    exchange = exchange or Exchange()
    variants = loose_variants(response)
    verdicts = []
    for item in instructions:
        check = lookup(item.id).check
        kwargs = parse_kwargs(item.id, item.kwargs)
        strict = bool(response.strip()) and check(response, kwargs, exchange)
        loose = strict or any(bool(v.strip()) and check(v, kwargs, exchange) for v in variants[1:])
        verdicts.append(Verdict(id=canonical_id(item.id), strict=strict, loose=loose))
    return verdicts


def is_heavy(instructions: Iterable[Instruction]) -> bool:
    """Whether any instruction's check loads a model or tokenizer (worth a worker thread)."""
    return any(lookup(item.id).heavy for item in instructions)
