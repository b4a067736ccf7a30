"""Targets: the endpoint under evaluation, called once per case.

Built-in kinds: ``openai``, ``http``, ``python``. Other kinds register with
:func:`register_target` or through the ``cujeval.targets`` entry-point group (the name is the
kind; the object a factory ``(name, settings: dict, *, concurrency: int) -> Target``), and a
suite names them with ``kind:``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from cujeval.spec.targets import (
    HttpTargetSpec,
    OpenAITargetSpec,
    PluginTargetSpec,
    TargetSpec,
)
from cujeval.targets.base import Target, redact_url

TargetFactory = Callable[..., Target]
ENTRY_POINT_GROUP = "cujeval.targets"
_PLUGINS: dict[str, TargetFactory] = {}
_loaded_entry_points = False


def register_target(kind: str) -> Callable[[TargetFactory], TargetFactory]:
    """Register a target kind: ``@register_target("grpc")`` on a factory
    ``(name, settings: dict, *, concurrency: int) -> Target``."""

    def register(factory: TargetFactory) -> TargetFactory:
        _PLUGINS[kind] = factory
        return factory

    return register


def plugin_kinds() -> dict[str, TargetFactory]:
    """Target kinds registered in code or by entry points (loaded once, on first use)."""
    global _loaded_entry_points
    if not _loaded_entry_points:
        _loaded_entry_points = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _PLUGINS:
                _PLUGINS[ep.name] = ep.load()
    return dict(_PLUGINS)


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
        return plugin_kinds()[spec.kind](name, spec.model_dump(), concurrency=concurrency)
    from cujeval.targets.python import PythonTarget

    return PythonTarget(name, spec, concurrency=concurrency)


__all__ = ["Target", "TargetSpec", "build_target", "redact_url", "register_target"]
