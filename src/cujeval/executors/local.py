"""The local executor: ``concurrency`` workers on this event loop, each taking the next item,
calling the target under the retry policy, scoring, and emitting the row."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cujeval.errors import CujevalError
from cujeval.executors import Emit, Item

if TYPE_CHECKING:
    from cujeval.runner import JourneyPlan
    from cujeval.suite import Settings


class LocalExecutor:
    async def run(
        self, plan: JourneyPlan, items: Iterator[Item], settings: Settings, emit: Emit
    ) -> None:
        from cujeval.journal import case_hash
        from cujeval.retry import AdaptiveLimit, GiveUp, RateLimit
        from cujeval.runner import build_row, call_case, score_case
        from cujeval.targets.config import per_second

        rng = random.Random(settings.seed)
        window = AdaptiveLimit(settings.concurrency)
        give_up = GiveUp(settings.give_up_after_s, what=f"target {plan.target.name!r}")
        rate = getattr(plan.spec, "rate_limit", None)
        pace = RateLimit(per_second(rate)) if rate else None
        name = plan.journey.name

        async def worker() -> None:
            for case, epoch in items:
                obs = await call_case(
                    plan.target, case, settings, rng, limit=window, give_up=give_up, pace=pace
                )
                if settings.empty_answer == "error":
                    obs = obs.mark_empty()
                scores, failed = await score_case(plan.scorers, case, obs)
                emit(build_row(name, case, epoch, obs, scores, failed, case_hash(case)))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(settings.concurrency):
                    group.create_task(worker())
        except* CujevalError as eg:  # RunAborted, or an input error met mid-stream
            raise eg.exceptions[0] from None

    async def aclose(self) -> None:
        return None
