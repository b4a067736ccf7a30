"""One judged metric on one case, K epochs, into Scores: the part every judge scorer shares.

Each epoch gets its own view of the client (its cache keys carry the epoch) and its own ragas
LLM. A failed epoch is left out, its reason counted (:mod:`cujeval.scorers.judges.failures`);
a run-level failure (authorisation refused) aborts the run. Every judge scorer adds
``judge_cost_usd`` (the case's judge spend in this run, summed over the judge scorers that
scored it; cached calls cost nothing; None when unpriced) and, with epochs > 1,
``judge_agreement`` (see :mod:`cujeval.scorers.judges.epochs`).

Every judged Score carries the judgement's accounting in its metadata (``judge_scorer``,
``judge_model``, ``epochs``, ``judge_calls``, ``judge_cache_hits``, ``judge_retries``,
``judge_prompt_tokens``, ``judge_completion_tokens``, and on failures ``judge_errors`` and
``judge_failures`` by reason), which :func:`cujeval.scorers.judges.summary.judge_summary`
adds up per journey from the journal.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cujeval._util.extras import missing
from cujeval.errors import CujevalError, InputError
from cujeval.scorers.base import Score, Scores
from cujeval.scorers.judges import failures
from cujeval.scorers.judges.client import JudgeClient, shared_client
from cujeval.scorers.judges.ledger import Ledger, case_totals
from cujeval.scorers.judges.ragas_bridge import judge_llm
from cujeval.spec.judge import JudgeConfig, PriceTable
from cujeval.spec.records import Observation

Evaluate = Callable[[Any], Awaitable[tuple[float, dict[str, Any]]]]

JUDGE_SLIS = ("judge_cost_usd", "judge_agreement")


@dataclass(frozen=True)
class EpochOutcome:
    """One epoch's value (None when the judge failed or had nothing to judge) and details."""

    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    reason: str | None = None  # one of failures.REASONS when the epoch failed


@dataclass(frozen=True)
class Judged:
    outcomes: list[EpochOutcome]
    ledger: Ledger

    @property
    def values(self) -> list[float]:
        return [o.value for o in self.outcomes if o.value is not None]

    @property
    def errors(self) -> list[str]:
        return [o.error for o in self.outcomes if o.error]

    @property
    def failures(self) -> dict[str, int]:
        """Failed epochs by reason."""
        return dict(Counter(o.reason for o in self.outcomes if o.reason))

    @property
    def causes(self) -> dict[str, str]:
        """The first message of each failure reason."""
        out: dict[str, str] = {}
        for o in self.outcomes:
            if o.reason and o.error:
                out.setdefault(o.reason, o.error)
        return out


def resolve_config(
    judge: Mapping[str, Any] | JudgeConfig | None, prices: PriceTable | None
) -> JudgeConfig:
    """The scorer's JudgeConfig; ValueError (the registry adds file and line) when unusable."""
    if judge is None:
        raise ValueError("needs a judge: add a 'judge:' block with base_url and model")
    try:
        config = judge if isinstance(judge, JudgeConfig) else JudgeConfig.from_mapping(judge)
        if config.prices is None and prices:
            data = {**config.model_dump(exclude={"prices"}), "prices": prices}
            config = JudgeConfig.from_mapping(data)
    except InputError as exc:
        raise ValueError(f"field '{exc.field}': {exc.message}") from None
    if config.api_key_env and not os.environ.get(config.api_key_env):
        raise ValueError(f"field 'judge.api_key_env': {config.api_key_env} is not set")
    if hint := missing("judge", "an LLM judge", "ragas", "instructor", "openai"):
        raise ValueError(hint)
    return config


class Judge:
    """A judge scorer's link to its judge: the config, the shared client, and its own identity
    in the case totals (so one observation scored twice is not charged twice)."""

    def __init__(
        self,
        judge: Mapping[str, Any] | JudgeConfig | None,
        prices: PriceTable | None,
        *,
        name: str = "judge",
    ) -> None:
        self.name = name
        self.config = resolve_config(judge, prices)
        self.client: JudgeClient = shared_client(self.config)

    async def run(self, evaluate: Evaluate, *, prompt: str | None = None) -> Judged:
        """``evaluate(llm)`` once per epoch, concurrently; the client bounds the load.
        ``prompt``: the version of the scorer's own prompt, part of the cache keys."""
        config = self.config
        ledgers = [Ledger() for _ in range(config.epochs)]

        async def one(epoch: int) -> EpochOutcome:
            view = self.client.bind(epoch=epoch, ledger=ledgers[epoch], prompt=prompt)
            llm = judge_llm(view, config)
            try:
                value, detail = await evaluate(llm)
            except CujevalError:
                raise
            except Exception as exc:
                reason, message = failures.classify(exc, max_tokens=config.max_tokens)
                return EpochOutcome(None, error=message, reason=reason)
            finally:
                view.discard()
            if math.isnan(value):
                return EpochOutcome(None, detail, error="the judge found nothing to judge")
            return EpochOutcome(min(1.0, max(0.0, value)), detail)

        outcomes = list(await asyncio.gather(*(one(k) for k in range(config.epochs))))
        total = Ledger()
        for ledger in ledgers:
            total.merge(ledger)
        return Judged(outcomes, total)

    def totals(
        self,
        case_id: str,
        obs: Observation,
        judged: Judged | None,
        agreement: float | None = None,
    ) -> Scores:
        """``judge_cost_usd`` and, with epochs > 1, ``judge_agreement`` for the case so far."""
        config = self.config
        totals = case_totals(obs, self)
        if judged is not None:
            priced = judged.ledger.priced(config.model, config.price_table)
            totals.add_cost(None if priced is None else priced[0])
            if priced is not None:
                totals.price_tables[config.model] = priced[1]
            if agreement is not None:
                totals.agreements.append(agreement)
        if totals.contributions == 0:
            cost = Score.unscorable("no judge call for this case")
        elif totals.cost_usd is None:
            cost = Score.unscorable(f"judge model {config.model!r} has no price")
        else:
            meta: dict[str, Any] = {"judge_model": config.model}
            if totals.price_tables:
                meta["price_table"] = dict(totals.price_tables)
            cost = Score(totals.cost_usd, metadata=meta)
        out: Scores = {"judge_cost_usd": cost}
        if config.epochs > 1:
            value = totals.agreement
            out["judge_agreement"] = (
                Score(value, metadata={"epochs": config.epochs})
                if value is not None
                else Score.unscorable("no epoch produced a judgement")
            )
        return out

    def unscorable(
        self, slis: tuple[str, ...], reason: str, case_id: str, obs: Observation
    ) -> Scores:
        """Every SLI of the scorer as not scorable (nothing judged), plus the case totals."""
        out: Scores = {name: Score.unscorable(reason) for name in slis}
        out.update(self.totals(case_id, obs, None))
        return out

    def failed(
        self, slis: tuple[str, ...], judged: Judged, case_id: str, obs: Observation
    ) -> Scores:
        """Every SLI as not scorable because no epoch produced a value; its spend still counts."""
        why = "; ".join(judged.errors) or "the judge produced no value"
        meta = self.metadata(judged)
        out: Scores = {name: Score.unscorable(why, scorer_error=True, **meta) for name in slis}
        out.update(self.totals(case_id, obs, judged))
        return out

    def metadata(self, judged: Judged) -> dict[str, Any]:
        """What every judged Score carries: judge model, epochs, calls, tokens, errors."""
        config = self.config
        meta: dict[str, Any] = {
            "judge_scorer": self.name,
            "judge_model": config.model,
            "epochs": config.epochs,
        }
        meta.update(judged.ledger.as_metadata())
        if config.epochs > 1:
            meta["epoch_values"] = [o.value for o in judged.outcomes]
        if judged.errors:
            meta["judge_errors"] = judged.errors
        if judged.failures:
            meta["judge_failures"] = judged.failures
            meta["judge_causes"] = judged.causes
        return meta


def missing_input(
    obs: Observation, question: str, *, contexts: bool = True, answer: bool = True
) -> str | None:
    """Why the case cannot be judged (target error, no answer, no contexts), or None."""
    if not obs.ok:
        return f"the target call failed ({obs.status})"
    if not question.strip():
        return "the case has no question"
    if answer and not (obs.answer or "").strip():
        return "the target returned no answer"
    if contexts and not context_texts(obs):
        return "the target returned no contexts"
    return None


def context_texts(obs: Observation) -> list[str]:
    """Non-empty context texts in rank order."""
    if not obs.contexts:
        return []
    ordered = sorted(
        enumerate(obs.contexts),
        key=lambda ic: (ic[1].rank if ic[1].rank is not None else ic[0] + 1, ic[0]),
    )
    return [c.text for _, c in ordered if c.text.strip()]


def clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
