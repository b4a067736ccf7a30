"""Targets: the endpoint under evaluation, called once per case.

Built-in kinds: ``openai``, ``http``, ``python``. Other kinds register with
:func:`register_target` or through the ``cujeval.targets`` entry-point group (the name is the
kind; the object a factory ``(name, settings: dict, *, concurrency: int) -> Target``), and a
suite names them with ``kind:``.
"""

from __future__ import annotations

from collections.abc import Callable

from cujeval._util.registry import TARGET_KINDS
from cujeval.spec.targets import (
    HttpTargetSpec,
    OpenAITargetSpec,
    PluginTargetSpec,
    TargetSpec,
)
from cujeval.targets.base import Target, redact_url

TargetFactory = Callable[..., Target]


def register_target(kind: str) -> Callable[[TargetFactory], TargetFactory]:
    """Register a target kind: ``@register_target("grpc")`` on a factory
    ``(name, settings: dict, *, concurrency: int) -> Target``."""

    def register(factory: TargetFactory) -> TargetFactory:
        TARGET_KINDS.register(kind, factory)
        return factory

    return register


def build_target(name: str, spec: TargetSpec, *, concurrency: int = 64) -> Target:
    """The Target for a validated spec."""
    if isinstance(spec, OpenAITargetSpec) and spec.agent is not None:
        from cujeval.targets.agent_loop import AgentLoopTarget

        return AgentLoopTarget(name, spec, concurrency=concurrency)
    if isinstance(spec, OpenAITargetSpec):
        from cujeval.targets.openai import OpenAITarget

        return OpenAITarget(name, spec, concurrency=concurrency)
    if isinstance(spec, HttpTargetSpec):
        from cujeval.targets.http import HttpTarget

        return HttpTarget(name, spec, concurrency=concurrency)
    if isinstance(spec, PluginTargetSpec):
        factory: TargetFactory = TARGET_KINDS.require(spec.kind, field="kind")
        return factory(name, spec.model_dump(), concurrency=concurrency)
    from cujeval.targets.python import PythonTarget

    return PythonTarget(name, spec, concurrency=concurrency)


__all__ = ["Target", "TargetSpec", "build_target", "redact_url", "register_target"]
