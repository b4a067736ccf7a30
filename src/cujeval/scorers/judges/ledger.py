"""Judge usage accounting, kept apart from the target's: tokens, calls, cache hits, cost.

A :class:`Ledger` collects one judgement's calls. :func:`case_totals` sums the spend of every
judge scorer that scored the same observation, so the row's ``judge_cost_usd`` is the case's
whole judge spend even when a journey lists several judge scorers (the last one's value,
which the row keeps, is the sum).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from cujeval.spec.judge import PriceTable
from cujeval.spec.records import Observation

UsageCost = Callable[..., "tuple[float, dict[str, Any]] | None"]


@dataclass
class Ledger:
    """Calls of one judgement. Tokens count only calls the server answered in this run."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_missing: int = 0

    def record(self, usage: Any, *, cached: bool) -> None:
        """Account one answered request; ``usage`` is the completion's usage object or None."""
        if cached:
            self.cache_hits += 1
            return
        self.calls += 1
        if usage is None:
            self.usage_missing += 1
            return
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    def merge(self, other: Ledger) -> None:
        self.calls += other.calls
        self.cache_hits += other.cache_hits
        self.retries += other.retries
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.usage_missing += other.usage_missing

    def cost_usd(self, model: str, prices: PriceTable | None) -> float | None:
        """Spend of the calls made in this run; None when the model has no price."""
        priced = self.priced(model, prices)
        return None if priced is None else priced[0]

    def priced(self, model: str, prices: PriceTable | None) -> tuple[float, str] | None:
        """Spend of the calls made in this run and the table that priced the model
        (``suite`` or ``genai-prices``); None when the model has no price."""
        usage_cost = _usage_cost()
        if usage_cost is None:
            return None
        result = usage_cost(model, self.prompt_tokens, self.completion_tokens, prices=prices)
        if result is None:
            return None
        usd, meta = result
        return float(usd), str(meta.get("price_table") or meta.get("source", "")).split(" ")[0]

    def as_metadata(self) -> dict[str, int]:
        meta = {
            "judge_calls": self.calls,
            "judge_cache_hits": self.cache_hits,
            "judge_retries": self.retries,
            "judge_prompt_tokens": self.prompt_tokens,
            "judge_completion_tokens": self.completion_tokens,
        }
        if self.usage_missing:
            meta["judge_usage_missing"] = self.usage_missing
        return meta


def _usage_cost() -> UsageCost | None:
    """``cujeval.scorers.cost.usage_cost``, imported when first needed; None if absent."""
    try:
        module = importlib.import_module("cujeval.scorers.cost")
    except ModuleNotFoundError as exc:
        if exc.name != "cujeval.scorers.cost":
            raise
        return None
    fn = getattr(module, "usage_cost", None)
    return cast(UsageCost, fn) if callable(fn) else None


@dataclass
class CaseTotals:
    """Judge spend and agreement of one observation over every judge scorer that scored it.

    ``cost_usd`` is None as soon as one contribution is unpriced; ``agreement`` is the lowest
    agreement of any judge metric on the case (the least reliable judgement bounds the row).
    """

    obs: Observation
    scorers: set[int] = field(default_factory=set)
    cost_usd: float | None = 0.0
    contributions: int = 0
    agreements: list[float] = field(default_factory=list)
    price_tables: dict[str, str] = field(default_factory=dict)  # judge model -> table

    def add_cost(self, cost: float | None) -> None:
        self.contributions += 1
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost

    @property
    def agreement(self) -> float | None:
        return min(self.agreements) if self.agreements else None


_current: ContextVar[CaseTotals | None] = ContextVar("cujeval_judge_case_totals", default=None)


def case_totals(obs: Observation, scorer: object) -> CaseTotals:
    """The running totals of the observation being scored in this task, as ``scorer`` joins.

    The runner awaits a case's scorers one after another in one task, so they share the
    totals; another observation, or a scorer seen before on this one (a new scoring pass),
    starts afresh, so nothing is counted twice. Other tasks never see these totals.
    """
    totals = _current.get()
    if totals is None or totals.obs is not obs or id(scorer) in totals.scorers:
        totals = CaseTotals(obs=obs)
        _current.set(totals)
    totals.scorers.add(id(scorer))
    return totals
