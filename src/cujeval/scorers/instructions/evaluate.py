"""Strict and loose verdicts of instructions on one response (IFEval's two accuracies).

Strict: the check passes on the response as given. Loose: it passes on at least one of the
response's loose variants (see :func:`text.loose_variants`). A blank text never passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cujeval.scorers.instructions.registry import (
    Exchange,
    Outcome,
    canonical_id,
    lookup,
    parse_kwargs,
)
from cujeval.scorers.instructions.text import loose_variants
from cujeval.spec.records import Instruction


@dataclass(frozen=True)
class Verdict:
    """One instruction's outcome on one response: ``kwargs`` as the instruction gave them,
    ``found`` what the strict check saw when it can say (``missing 'refund'``)."""

    id: str
    strict: bool
    loose: bool
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    found: str = ""

    def describe(self) -> str:
        """``product:max_words(max_words=50): 73 words``: what was asked and what was found."""
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.kwargs.items() if v is not None)
        text = f"{self.id}({args})" if args else self.id
        return f"{text}: {self.found}" if self.found else text


def _show(value: Any) -> str:
    """A kwarg as written in a suite, strings unescaped (``pattern='within \\d+ days'``)."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return repr(value)


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
        outcome = check(response, kwargs, exchange) if response.strip() else False
        strict = bool(outcome)
        found = outcome.found if isinstance(outcome, Outcome) else ""
        if not response.strip():
            found = "the answer is empty"
        loose = strict or any(bool(v.strip()) and check(v, kwargs, exchange) for v in variants[1:])
        verdicts.append(
            Verdict(
                id=canonical_id(item.id),
                strict=strict,
                loose=loose,
                kwargs=dict(item.kwargs),
                found=found,
            )
        )
    return verdicts


def is_heavy(instructions: Iterable[Instruction]) -> bool:
    """Whether any instruction's check loads a model or tokenizer (worth a worker thread)."""
    return any(lookup(item.id).heavy for item in instructions)
