"""The ``instruction_following`` scorer: IFEval and product instructions as SLIs.

SLIs per case: ``instruction_following`` (prompt-level strict: every instruction passes),
``instruction_following_loose`` (prompt-level loose), and ``instruction:<id>`` for each
instruction (strict; loose in metadata). Instructions come from the case and from the
journey's ``instructions`` option, journey ones first.

A failing case says what failed: each failed instruction's id, its kwargs and what its check
found (``product:required_phrases(phrases=['refund']): missing 'refund'``), in the
explanation and, as ``failed`` ({id, kwargs, found}), in the metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from cujeval.errors import InputError
from cujeval.scorers.base import Score, Scorer, Scores, scorer
from cujeval.scorers.instructions.evaluate import Verdict, follow, is_heavy
from cujeval.scorers.instructions.registry import Exchange, canonical_id, parse_kwargs
from cujeval.spec.records import GoldenCase, Instruction, Observation

NAME = "instruction_following"
LOOSE = "instruction_following_loose"
PREFIX = "instruction:"


def _journey_instructions(items: Sequence[Mapping[str, Any] | Instruction]) -> list[Instruction]:
    """The ``instructions`` option as validated records.

    Raises ValueError, which the scorer registry reports as bad scorer options.
    """
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ValueError("option 'instructions' must be a list of {id, kwargs}")
    out = []
    for index, item in enumerate(items):
        try:
            record = item if isinstance(item, Instruction) else Instruction.model_validate(item)
            parse_kwargs(record.id, record.kwargs)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise ValueError(
                f"instructions[{index}] must be {{id, kwargs}} ({where}: {problem['msg']})"
            ) from None
        except InputError as exc:
            raise ValueError(f"instructions[{index}]: {exc.message}") from None
        out.append(record)
    return out


def _per_instruction(verdicts: list[Verdict]) -> Scores:
    """One strict Score per id; an id given twice passes only if every instance passes."""
    grouped: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        grouped.setdefault(verdict.id, []).append(verdict)
    scores: Scores = {}
    for id, group in grouped.items():
        strict = all(v.strict for v in group)
        loose = all(v.loose for v in group)
        failed = [v for v in group if not v.strict]
        meta: dict[str, Any] = {"loose": loose}
        if failed:
            meta["failed"] = [_failure(v) for v in failed]
        scores[PREFIX + id] = Score(
            value=strict,
            explanation="followed" if strict else "not followed: " + "; ".join(_shown(failed)),
            metadata=meta,
        )
    return scores


def _failure(v: Verdict) -> dict[str, Any]:
    return {"id": v.id, "kwargs": dict(v.kwargs), "found": v.found}


def _shown(failed: list[Verdict], limit: int = 300) -> list[str]:
    return [_clip(v.describe(), limit) for v in failed]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _explain(failed: list[Verdict], total: int) -> str:
    if not failed:
        return f"all {total} instructions followed"
    return f"failed {len(failed)} of {total}: " + "; ".join(_shown(failed))


def _summary(verdicts: list[Verdict]) -> Scores:
    """Prompt-level strict and loose: a case passes only if every instruction does."""
    listing = [{"id": v.id, "strict": v.strict, "loose": v.loose} for v in verdicts]
    failed = [v for v in verdicts if not v.strict]
    failed_loose = [v for v in verdicts if not v.loose]
    meta: dict[str, Any] = {"instructions": listing, "loose": not failed_loose}
    if failed:
        meta["failed"] = [_failure(v) for v in failed]
    return {
        NAME: Score(value=not failed, explanation=_explain(failed, len(verdicts)), metadata=meta),
        LOOSE: Score(value=not failed_loose, explanation=_explain(failed_loose, len(verdicts))),
    }


def _unscorable(reason: str, instructions: list[Instruction]) -> Scores:
    scores: Scores = {NAME: Score.unscorable(reason), LOOSE: Score.unscorable(reason)}
    for item in instructions:
        scores[PREFIX + canonical_id(item.id)] = Score.unscorable(reason)
    return scores


def _failed_empty(instructions: list[Instruction]) -> Scores:
    """An empty answer follows no instruction: every one fails, strict and loose."""
    why = "the target returned an empty answer"
    scores: Scores = {
        NAME: Score(value=False, explanation=why, metadata={"loose": False}),
        LOOSE: Score(value=False, explanation=why),
    }
    for item in instructions:
        scores[PREFIX + canonical_id(item.id)] = Score(
            value=False, explanation=why, metadata={"loose": False}
        )
    return scores


@scorer(
    NAME,
    description="IFEval verifiable instructions and product constraints, strict and loose",
    needs=("instructions", "answer"),
    outputs=(NAME, LOOSE, PREFIX + "*"),
    context=("instructions",),
)
def instruction_following(
    *, instructions: Sequence[Mapping[str, Any] | Instruction] = ()
) -> Scorer:
    """Prompt-level and per-instruction following of IFEval and ``product:*`` instructions.

    ``instructions``: journey-level ``{id, kwargs}`` applied to every case besides its own.
    """
    journey = _journey_instructions(instructions)

    async def run(case: GoldenCase, obs: Observation) -> Scores:
        every = [*journey, *case.instructions]
        try:
            for item in case.instructions:
                parse_kwargs(item.id, item.kwargs)
        except InputError as exc:
            raise InputError(f"case {case.id!r}: {exc.message}", field="instructions") from None
        if not every:
            return _unscorable("the case has no instructions", [])
        if obs.empty:
            return _failed_empty(every)
        if not obs.ok:
            return _unscorable(f"the target failed ({obs.status})", every)
        if obs.answer is None or not obs.answer.strip():
            return _unscorable("the target gave no answer", every)
        exchange = Exchange(prompt=case.question, obs=obs)
        if is_heavy(every):
            verdicts = await asyncio.to_thread(follow, every, obs.answer, exchange)
        else:
            verdicts = follow(every, obs.answer, exchange)
        return {**_summary(verdicts), **_per_instruction(verdicts)}

    return run
