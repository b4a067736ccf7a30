"""The local executor: ``concurrency`` workers on this event loop, each taking the next item,
calling the target under the retry policy, scoring, and emitting the row.

A same-run canary (cujeval.engine.canary) runs its two arms with :meth:`LocalExecutor.run_paired`:
each worker takes a case and sends it to both targets at once, in an order drawn per case, so
neither arm is systematically first to reach a shared service or this process's event loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from cujeval.engine.executors import Emit, Item, PairedItem
from cujeval.errors import CujevalError

if TYPE_CHECKING:
    from cujeval.engine.plan import JourneyPlan
    from cujeval.spec.records import GoldenCase
    from cujeval.spec.suite import Settings


class _Arm:
    """One journey's calls: its retry state (adaptive window, give-up clock, pace)."""

    def __init__(self, plan: JourneyPlan, settings: Settings) -> None:
        from cujeval._util.retry import AdaptiveLimit, GiveUp, RateLimit
        from cujeval.spec.targets import per_second

        self.plan = plan
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.window = AdaptiveLimit(settings.concurrency)
        self.give_up = GiveUp(settings.give_up_after_s, what=f"target {plan.target.name!r}")
        rate = getattr(plan.spec, "rate_limit", None)
        self.pace = RateLimit(per_second(rate)) if rate else None

    async def row(self, case: GoldenCase, epoch: int) -> dict[str, Any]:
        from cujeval.engine.case import case_row

        plan = self.plan
        return await case_row(
            plan.journey.name,
            plan.target,
            plan.scorers,
            case,
            epoch,
            self.settings,
            self.rng,
            limit=self.window,
            give_up=self.give_up,
            pace=self.pace,
        )


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


class LocalExecutor:
    async def run(
        self, plan: JourneyPlan, items: Iterator[Item], settings: Settings, emit: Emit
    ) -> None:
        arm = _Arm(plan, settings)

        async def worker() -> None:
            for case, epoch in items:
                emit(await arm.row(case, epoch))

        await self._workers(worker, settings.concurrency)

    async def run_paired(
        self,
        plans: Sequence[JourneyPlan],
        items: Iterator[PairedItem],
        settings: Settings,
        emits: Sequence[Emit],
    ) -> None:
        """Each item to the arms it names (indexes into ``plans``), all at once, in an order
        drawn per item from the run's seed; each arm keeps its own retry state."""
        arms = [_Arm(p, settings) for p in plans]
        order = random.Random(settings.seed ^ 0x5EED)

        async def one(k: int, case: GoldenCase, epoch: int) -> None:
            emits[k](await arms[k].row(case, epoch))

        async def worker() -> None:
            for case, epoch, todo in items:
                picked = list(todo)
                order.shuffle(picked)
                async with asyncio.TaskGroup() as group:
                    for k in picked:
                        group.create_task(one(k, case, epoch))

        await self._workers(worker, settings.concurrency)

    @staticmethod
    async def _workers(worker: Any, n: int) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(n):
                    group.create_task(worker())
        except* CujevalError as eg:  # RunAborted, or an input error met mid-stream
            raise _first_leaf(eg) from None

    async def aclose(self) -> None:
        return None
