"""One call of a freshly built target on one case, for the target tests."""

from __future__ import annotations

import asyncio
from typing import Any

from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import HttpTargetSpec, OpenAITargetSpec
from cujeval.targets import build_target

CASE = GoldenCase(id="c1", input="how do I reset?")


def call(spec: HttpTargetSpec | OpenAITargetSpec) -> Observation:
    async def go() -> Observation:
        target = build_target("t", spec)
        try:
            return await target.call(CASE)
        finally:
            await target.aclose()

    return asyncio.run(go())


def http_call(url: str, **spec: Any) -> Observation:
    return call(HttpTargetSpec(kind="http", url=url, **spec))


def openai_call(base_url: str, **spec: Any) -> Observation:
    return call(OpenAITargetSpec(kind="openai", base_url=base_url, model="m1", **spec))
