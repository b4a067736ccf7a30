"""The openai target against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cujeval.errors import TargetProtocolError
from cujeval.records import GoldenCase, Observation
from cujeval.targets import build_target
from cujeval.targets.config import OpenAITargetSpec


def call(base_url: str, **spec: Any) -> Observation:
    async def go() -> Observation:
        target = build_target(
            "t", OpenAITargetSpec(kind="openai", base_url=base_url, model="m1", **spec)
        )
        try:
            return await target.call(GoldenCase(id="1", input="hello there"))
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_streamed_measures_ttft_usage_contexts(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/v1")
    assert obs.answer == "Answer to hello there"
    assert obs.ttft_s is not None and obs.latency_s is not None
    assert 0 < obs.ttft_s < obs.latency_s
    assert obs.usage is not None and obs.usage.completion_tokens == 4
    assert obs.retrieved_ids == ["c1"] and obs.model == "m1"


def test_not_streamed(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/v1", stream=False)
    assert obs.answer == "Answer to hello there" and obs.ttft_s is None
    assert obs.usage is not None and obs.usage.prompt_tokens == 20


def test_malformed_stream(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    with pytest.raises(TargetProtocolError, match="malformed stream"):
        call(f"{url}/v1", params={"malformed": True})
