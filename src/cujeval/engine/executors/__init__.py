"""Executors: where a journey's cases are called and scored.

The driver (cujeval.engine.run) owns the journal, the columns, the verdicts and the gate; an
executor only turns (case, epoch) items into finished rows and hands each one to ``emit`` as it
completes, so ``--resume`` and "nothing lost" hold whatever runs the cases.

- ``local`` (default): workers on this process's event loop (:class:`LocalExecutor`).
- ``ray``: shards on a Ray cluster (``cujeval.engine.executors.ray``, the ``cujeval[ray]`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cujeval.engine.plan import JourneyPlan
    from cujeval.spec.records import GoldenCase
    from cujeval.spec.suite import Settings, Suite

Item = tuple["GoldenCase", int]  # (case, epoch)
PairedItem = tuple["GoldenCase", int, tuple[int, ...]]  # (case, epoch, the arms that need it)
Emit = Callable[[dict[str, Any]], None]


class Executor(Protocol):
    async def run(
        self, plan: JourneyPlan, items: Iterator[Item], settings: Settings, emit: Emit
    ) -> None:
        """Call and score every item; ``emit(row)`` each finished row, in completion order.
        Raise RunAborted (or let a CujevalError through) to end the run."""
        ...

    async def aclose(self) -> None: ...


def build_executor(
    name: str, suite: Suite, *, address: str | None = None, judge_epochs: int | None = None
) -> Executor:
    """The executor called ``name`` (local or ray)."""
    if name == "local":
        from cujeval.engine.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        import importlib

        try:
            module = importlib.import_module(
                "cujeval.engine.executors.ray"
            )  # the cujeval[ray] extra
        except ModuleNotFoundError as exc:
            from cujeval.errors import InputError

            raise InputError(
                f"--executor ray needs Ray and cujeval's Ray executor ({exc.name} is missing): "
                "pip install 'cujeval[ray]'",
                field="--executor",
            ) from None
        executor: Executor = module.RayExecutor(suite, address=address, judge_epochs=judge_epochs)
        return executor
    from cujeval.errors import UnknownNameError

    raise UnknownNameError("executor", name, ("local", "ray"), field="--executor")
