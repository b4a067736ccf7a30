"""The golden agent tasks: every case valid, and the clean reference agent meets every one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.reference.conftest import ThreadedServer

from cujeval.reference.agent import AgentConfig
from cujeval.reference.agent.app import create_app
from cujeval.reference.agent.tools import TOOLS
from cujeval.scorers.agent import call_matches
from cujeval.scorers.base import create
from cujeval.spec.dataset import inspect, iter_cases
from cujeval.spec.records import ExpectedOutcome, GoldenCase, ToolCall
from cujeval.targets.base import observation_from_mapping

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "support_agent.jsonl"


def cases() -> list[GoldenCase]:
    return list(iter_cases(DATASET))


def user_turns(case: GoldenCase) -> int:
    return sum(1 for m in case.messages() if m["role"] == "user")


def test_every_case_is_valid_and_complete() -> None:
    info = inspect(DATASET)  # ids unique, every line validates
    assert info.n_cases >= 40
    for case in cases():
        assert isinstance(case.expected_outcome, ExpectedOutcome), case.id
        assert case.expected_outcome.state or case.expected_outcome.answer_contains, case.id
        assert case.expected_tool_calls is not None and case.tags, case.id
        for call in (*case.expected_tool_calls, *case.forbidden_tool_calls):
            assert call.name in TOOLS, (case.id, call.name)
        # nothing a case expects is also forbidden to it
        for forbidden in case.forbidden_tool_calls:
            assert not any(call_matches(forbidden, e) for e in _as_calls(case)), case.id


def _as_calls(case: GoldenCase) -> list[ToolCall]:
    return [ToolCall(name=e.name, arguments=e.arguments) for e in case.expected_tool_calls or ()]


def test_the_dataset_covers_multi_turn_refusals_and_escalations() -> None:
    all_cases = cases()
    assert sum(user_turns(c) >= 2 for c in all_cases) >= 10
    assert sum(user_turns(c) >= 3 for c in all_cases) >= 3  # ask, clarify, confirm
    assert sum("refusal" in c.tags for c in all_cases) >= 8
    assert sum("escalation" in c.tags for c in all_cases) >= 8
    assert sum(c.expected_tool_calls == () for c in all_cases) >= 3  # the right call is none
    comparators = {
        spec.partition(":")[0]
        for c in all_cases
        for e in c.expected_tool_calls or ()
        for spec in e.argument_match.values()
    }
    assert comparators >= {"case_insensitive", "numeric", "contains"}


@pytest.fixture(scope="module")
def clean_agent() -> Iterator[str]:
    server = ThreadedServer(create_app(AgentConfig()))
    server.start()
    yield server.url
    server.stop()


def test_the_clean_agent_meets_every_golden_task(clean_agent: str) -> None:
    scorers = [
        create("task_success"),
        create("trajectory_match", {"tools": list(TOOLS)}),
        create("tool_call_f1", {"tools": list(TOOLS)}),
        create("forbidden_action"),
        create("tool_error_rate"),
    ]

    async def main() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        limit = asyncio.Semaphore(16)
        async with aiohttp.ClientSession() as http:

            async def one(case: GoldenCase) -> None:
                body = {"world": case.id, "messages": case.messages()}
                async with limit, http.post(f"{clean_agent}/agent", json=body) as response:
                    assert response.status == 200
                    data = await response.json()
                obs = observation_from_mapping(data, latency_s=0.0)
                for scorer in scorers:
                    for sli, score in (await scorer(case, obs)).items():
                        out.setdefault(case.id, {})[sli] = (score.value, score.explanation)

            await asyncio.gather(*(one(c) for c in cases()))
        return out

    results = asyncio.run(main())
    assert len(results) == len(cases())
    wanted = {
        "task_success": True,
        "trajectory_match": True,
        "tool_call_f1": 1.0,
        "forbidden_action": False,
        "tool_error_rate": 0.0,
    }
    failures = {
        (case_id, sli): got
        for case_id, slis in results.items()
        for sli, got in slis.items()
        # a case whose right behaviour is no call at all has no tool error rate
        if got[0] != wanted[sli] and not (sli == "tool_error_rate" and got[0] is None)
    }
    assert failures == {}
