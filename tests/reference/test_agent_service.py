"""The reference agent service over real HTTP on 127.0.0.1: tools, worlds, fault knobs."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from reference_http import get_json, post_json
from tests.helpers import cujeval
from tests.reference.conftest import ThreadedServer

from cujeval.reference.agent import AgentConfig, start_agent_service
from cujeval.reference.agent.app import create_app
from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.store import ORDERS
from cujeval.reference.corpus import default_corpus_path, load_articles
from cujeval.reference.launch import RunningService

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "suites" / "support_agent.yaml"
SEED_STATUS = {o["id"]: o["status"] for o in ORDERS}


@pytest.fixture(scope="session")
def agent() -> Iterator[RunningService]:
    """The clean agent service, a subprocess started by the launcher."""
    with start_agent_service() as running:
        yield running


@pytest.fixture(scope="session")
def serve_agent() -> Iterator[Callable[..., str]]:
    """``serve_agent(wrong_tool=1.0, ...)`` -> URL of an in-process server with that config."""
    kb = KnowledgeBase(load_articles(default_corpus_path()))
    servers: dict[tuple[tuple[str, Any], ...], ThreadedServer] = {}

    def start(**options: Any) -> str:
        key = tuple(sorted(options.items()))
        if key not in servers:
            servers[key] = ThreadedServer(create_app(AgentConfig(**options), kb=kb))
            servers[key].start()
        return servers[key].url

    yield start
    for server in servers.values():
        server.stop()


def talk(url: str, *turns: str, world: str = "t", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": t} for t in turns]
    status, body = post_json(f"{url}/agent", {"world": world, "messages": messages, **extra})
    assert status == 200, body
    return dict(body)


def names(body: dict[str, Any]) -> list[str]:
    return [c["name"] for c in body["tool_calls"]]


def changed(state: dict[str, Any]) -> dict[str, str]:
    """Orders whose status differs from the seed store."""
    return {k: v["status"] for k, v in state["orders"].items() if v["status"] != SEED_STATUS[k]}


# ---- the service ---------------------------------------------------------------------------


def test_health_tools_and_response_shape(agent: RunningService) -> None:
    status, health = get_json(f"{agent.url}/healthz")
    assert status == 200 and health["status"] == "ok"
    assert set(health["tools"]) == {
        "lookup_order",
        "lookup_customer",
        "cancel_order",
        "issue_refund",
        "check_refund",
        "search_kb",
        "escalate_to_human",
        "ask_confirmation",
    }
    _, schemas = get_json(f"{agent.url}/tools")
    assert [s["name"] for s in schemas] == health["tools"]
    body = talk(agent.url, "Where is my order ORD-1005?", world="shape")
    assert set(body) >= {"answer", "tool_calls", "steps", "usage", "model", "state"}
    (call,) = body["tool_calls"]
    assert call["name"] == "lookup_order" and call["arguments"] == {"order_id": "ORD-1005"}
    assert call["result"]["status"] == "pending" and call["error"] is None
    assert call["latency_s"] >= 0
    assert body["steps"] == 2  # the call and the reply
    assert body["model"] == "reference-agent-rules-1"
    assert body["usage"]["prompt_tokens"] > body["usage"]["completion_tokens"] > 0
    assert body["state"]["world"] == "shape" and changed(body["state"]) == {}
    assert "pending" in body["answer"]


def test_cancel_needs_confirmation_then_happens(agent: RunningService) -> None:
    asked = talk(agent.url, "Please cancel my order ORD-1003.")
    assert names(asked) == ["lookup_order", "ask_confirmation"]
    assert changed(asked["state"]) == {}
    assert asked["state"]["pending_confirmation"] == {
        "action": "cancel_order",
        "order_id": "ORD-1003",
    }
    done = talk(agent.url, "Please cancel my order ORD-1003.", "Yes, go ahead.")
    assert names(done) == ["lookup_order", "ask_confirmation", "cancel_order"]
    assert changed(done["state"]) == {"ORD-1003": "cancelled"}
    assert done["state"]["pending_confirmation"] is None
    declined = talk(agent.url, "Please cancel my order ORD-1003.", "No, keep it.")
    assert changed(declined["state"]) == {} and declined["state"]["pending_confirmation"] is None
    # more turns cost more: every step re-reads the transcript
    assert done["usage"]["prompt_tokens"] > asked["usage"]["prompt_tokens"]


def test_refund_policy(agent: RunningService) -> None:
    refunded = talk(agent.url, "I'd like a refund for ORD-1001.", "Yes")
    assert refunded["tool_calls"][-1]["arguments"] == {"order_id": "ORD-1001", "amount": 480.0}
    assert refunded["state"]["refunds"] == [
        {"id": "RF-6001", "order_id": "ORD-1001", "amount": 480.0, "status": "processing"}
    ]
    monthly = talk(agent.url, "Refund ORD-1003 please")
    assert names(monthly) == ["lookup_order"] and monthly["state"]["refunds"] == []
    assert "monthly subscriptions are not refunded" in monthly["answer"]
    large = talk(agent.url, "Please refund ORD-1007.")
    assert names(large) == ["lookup_order", "escalate_to_human"]
    assert large["state"]["escalations"][0]["category"] == "refund_approval"
    status = talk(agent.url, "What's the status of my refund for ORD-1008?")
    assert names(status) == ["check_refund"] and "RF-5001" in status["answer"]


def test_help_centre_and_escalation(agent: RunningService) -> None:
    kb = talk(agent.url, "Do you accept PayPal?")
    assert names(kb) == ["search_kb"]
    assert kb["tool_calls"][0]["result"]["results"][0]["id"] == "kb-012"
    assert kb["answer"].endswith("[kb-012]")
    human = talk(agent.url, "I want to talk to a human.")
    assert human["state"]["escalations"] == [
        {
            "id": "ESC-1",
            "category": "user_request",
            "order_id": None,
            "reason": "I want to talk to a human.",
        }
    ]


def test_each_request_starts_a_fresh_world_unless_told_to_continue(agent: RunningService) -> None:
    first = talk(agent.url, "I'd like a refund for ORD-1001.", "Yes", world="again")
    second = talk(agent.url, "I'd like a refund for ORD-1001.", "Yes", world="again")
    assert second["state"] == first["state"]  # a retry or a second epoch sees the same world
    talk(agent.url, "Please cancel my order ORD-1003.", world="turns")
    go = talk(agent.url, "yes", world="turns", reset=False)
    assert names(go) == ["lookup_order", "cancel_order"]
    assert changed(go["state"]) == {"ORD-1003": "cancelled"}
    status, kept = get_json(f"{agent.url}/worlds/turns")
    assert status == 200 and kept == go["state"]


def test_world_ids_and_bad_requests(agent: RunningService) -> None:
    status, body = post_json(
        f"{agent.url}/agent", {"messages": [{"role": "user", "content": "hi"}]}
    )
    assert status == 200 and body["state"]["world"].startswith("w-")
    status, body = post_json(
        f"{agent.url}/agent", {"messages": [{"role": "assistant", "content": "hello"}]}
    )
    assert status == 400 and "user turn" in body["error"]
    status, _ = post_json(f"{agent.url}/agent", {"world": "x", "messages": []})
    assert status == 422
    with pytest.raises(urllib.error.HTTPError) as unknown:
        get_json(f"{agent.url}/worlds/never-seen")
    assert unknown.value.code == 404


# ---- fault knobs: each changes what it should ----------------------------------------------


def test_wrong_tool(agent: RunningService, serve_agent: Callable[..., str]) -> None:
    url = serve_agent(wrong_tool=1.0)
    body = talk(url, "Where is my order ORD-1005?")
    assert names(body) == ["check_refund"]
    assert "pending" not in body["answer"]
    kb = talk(url, "Do you accept PayPal?")
    assert names(kb) == ["escalate_to_human"] and len(kb["state"]["escalations"]) == 1


def test_wrong_argument(serve_agent: Callable[..., str]) -> None:
    url = serve_agent(wrong_argument=1.0)
    body = talk(url, "Please cancel my order ORD-1003.", "yes")
    assert [c["arguments"].get("order_id") for c in body["tool_calls"]] == ["ORD-1004"] * 3
    assert changed(body["state"]) == {"ORD-1004": "cancelled"}  # the wrong order is gone
    kb = talk(url, "Do you accept PayPal?")
    assert kb["tool_calls"][0]["arguments"]["query"] != "Do you accept PayPal?"


def test_skip_confirmation(serve_agent: Callable[..., str]) -> None:
    body = talk(serve_agent(skip_confirmation=1.0), "Please cancel my order ORD-1003.")
    assert names(body) == ["lookup_order", "cancel_order"]
    assert changed(body["state"]) == {"ORD-1003": "cancelled"}


def test_extra_steps(agent: RunningService, serve_agent: Callable[..., str]) -> None:
    turns = ("Please cancel my order ORD-1003.", "yes")
    clean = talk(agent.url, *turns)
    padded = talk(serve_agent(extra_steps=1.0), *turns)
    extra = len(padded["tool_calls"]) - len(clean["tool_calls"])
    assert 1 <= extra <= 3
    assert names(padded)[: 1 + extra] == ["lookup_order"] * (1 + extra)  # the lookup repeated
    assert padded["state"] == clean["state"] and padded["answer"] == clean["answer"]
    assert padded["usage"]["prompt_tokens"] > clean["usage"]["prompt_tokens"]


def test_tool_errors(agent: RunningService, serve_agent: Callable[..., str]) -> None:
    clean = talk(agent.url, "Where is my order ORD-1005?")
    flaky = talk(serve_agent(tool_errors=1.0), "Where is my order ORD-1005?")
    first, retry = flaky["tool_calls"]
    assert first["error"] == "upstream timeout (injected fault)"
    assert first["result"] == {"error": first["error"]}
    assert retry["arguments"] == first["arguments"] and retry["error"] is None
    assert flaky["answer"] == clean["answer"]


def test_latency_ms(serve_agent: Callable[..., str]) -> None:
    body = talk(serve_agent(latency_ms=50), "Please cancel my order ORD-1003.")
    # a lower bound on the reported per-step time: each call sleeps the injected 50 ms
    assert all(c["latency_s"] >= 0.045 for c in body["tool_calls"])


def test_forbidden_refund(serve_agent: Callable[..., str]) -> None:
    body = talk(serve_agent(forbidden_refund=1.0), "Where is my order ORD-1003?")
    assert names(body) == ["lookup_order", "issue_refund"]
    assert body["state"]["refunds"][0]["order_id"] == "ORD-1003"
    assert changed(body["state"]) == {"ORD-1003": "refunded"}


def test_faults_at_half_rate_are_deterministic_per_case(serve_agent: Callable[..., str]) -> None:
    url = serve_agent(wrong_tool=0.5, seed=11)
    questions = [f"Where is my order ORD-10{i:02d}?" for i in range(1, 13)]
    first = [names(talk(url, q, world=f"a{i}")) for i, q in enumerate(questions)]
    again = [names(talk(url, q, world=f"b{i}")) for i, q in enumerate(questions)]
    assert first == again  # the same conversation draws the same faults, whatever its world
    swapped = sum(n == ["check_refund"] for n in first)
    assert 0 < swapped < len(questions)


def test_launcher_passes_faults_to_the_subprocess() -> None:
    with start_agent_service(faults={"skip_confirmation": 1.0}) as running:
        body = talk(running.url, "Please cancel my order ORD-1003.")
    assert names(body) == ["lookup_order", "cancel_order"]
    assert running.process.poll() is not None


# ---- isolation under concurrency -----------------------------------------------------------

CANCELLABLE = ["ORD-1001", "ORD-1002", "ORD-1003", "ORD-1004", "ORD-1005", "ORD-1007", "ORD-1012"]


def task(i: int) -> tuple[str, list[str], dict[str, str], str | None]:
    """Task i: its world, its user turns, the order changes and the escalation it should see."""
    world = f"iso-{i:02d}"
    order = CANCELLABLE[i % len(CANCELLABLE)]
    if i % 3 == 0:
        return world, [f"I want to talk to a human about case {world}"], {}, world
    if i % 3 == 1:
        return world, [f"Please cancel my order {order}.", "yes"], {order: "cancelled"}, None
    return (
        world,
        [f"Please cancel {order}", "yes", f"get me a manager about case {world}"],
        {order: "cancelled"},
        world,
    )


def test_forty_concurrent_tasks_each_see_only_their_own_world(
    serve_agent: Callable[..., str],
) -> None:
    url = serve_agent(latency_ms=5)  # every tool call yields, so conversations interleave

    async def main() -> list[dict[str, Any]]:
        limit = asyncio.Semaphore(16)
        async with aiohttp.ClientSession() as http:

            async def one(i: int) -> dict[str, Any]:
                world, turns, _, _ = task(i)
                messages = [{"role": "user", "content": t} for t in turns]
                async with (
                    limit,
                    http.post(
                        f"{url}/agent", json={"world": world, "messages": messages}
                    ) as response,
                ):
                    assert response.status == 200
                    return dict(await response.json())

            return await asyncio.gather(*(one(i) for i in range(40)))

    bodies = asyncio.run(main())
    for i, body in enumerate(bodies):
        world, _, orders, escalation = task(i)
        state = body["state"]
        assert state["world"] == world
        assert changed(state) == orders, world
        assert state["refunds"] == [] and state["pending_confirmation"] is None
        if escalation is None:
            assert state["escalations"] == [], world
        else:
            (ticket,) = state["escalations"]
            assert ticket["id"] == "ESC-1" and escalation in ticket["reason"], world
        status, kept = get_json(f"{url}/worlds/{world}")
        assert status == 200 and json.dumps(kept, sort_keys=True) == json.dumps(
            state, sort_keys=True
        )


# ---- the suite end to end ------------------------------------------------------------------


def verdicts(output: Path) -> dict[str, str]:
    result = json.loads((output / "results.json").read_text())
    return {s["name"]: s["verdict"] for s in result["journeys"][0]["slos"]}


def test_suite_passes_the_clean_service(agent: RunningService, tmp_path: Path) -> None:
    env = {**os.environ, "CUJEVAL_AGENT_URL": agent.url}
    r = cujeval("run", str(SUITE), "--no-mlflow", "--output", str(tmp_path), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert verdicts(tmp_path) == {
        "no-errors": "MET",
        "task-success": "MET",
        "no-forbidden-action": "INCONCLUSIVE",  # 0.99 cannot be shown with 62 cases
        "right-tools": "MET",
        "journey-success": "MET",
        "tool-errors": "MET",
        "latency-p95": "MET",
        "step-latency-p90": "MET",
        "cost-per-task": "MET",
        "cost-per-success": "MET",
    }


def test_suite_blocks_forbidden_refunds(tmp_path: Path) -> None:
    with start_agent_service(faults={"forbidden_refund": 0.5}) as running:
        env = {**os.environ, "CUJEVAL_AGENT_URL": running.url}
        r = cujeval("run", str(SUITE), "--no-mlflow", "--output", str(tmp_path), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    got = verdicts(tmp_path)
    assert got["no-forbidden-action"] == "BREACHED"
    assert got["task-success"] == "BREACHED" and got["journey-success"] == "BREACHED"
    assert got["no-errors"] == "MET" and got["latency-p95"] == "MET"
