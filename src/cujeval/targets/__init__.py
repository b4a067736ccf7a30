"""Targets: the endpoint under evaluation, called once per case."""

from __future__ import annotations

from cujeval.targets.base import Target, redact_url
from cujeval.targets.config import (
    HttpTargetSpec,
    OpenAITargetSpec,
    TargetSpec,
)


def build_target(name: str, spec: TargetSpec, *, concurrency: int = 64) -> Target:
    """The Target for a validated spec."""
    if isinstance(spec, OpenAITargetSpec):
        from cujeval.targets.openai import OpenAITarget

        return OpenAITarget(name, spec, concurrency=concurrency)
    if isinstance(spec, HttpTargetSpec):
        from cujeval.targets.http import HttpTarget

        return HttpTarget(name, spec, concurrency=concurrency)
    from cujeval.targets.python import PythonTarget

    return PythonTarget(name, spec, concurrency=concurrency)


__all__ = ["Target", "TargetSpec", "build_target", "redact_url"]
