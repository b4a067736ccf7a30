"""The reference agent's parts without a server: store, tools, search, faults, command line."""

from __future__ import annotations

import sys

import pytest

from cujeval.errors import InputError, UnknownNameError
from cujeval.reference.agent import AGENT_RATE_NAMES, AgentConfig, agent_command
from cujeval.reference.agent.__main__ import build_parser, config_from_args
from cujeval.reference.agent.kb import KnowledgeBase, words
from cujeval.reference.agent.policy import order_ids
from cujeval.reference.agent.store import World
from cujeval.reference.agent.tools import TOOLS, ToolError
from cujeval.reference.corpus import default_corpus_path, load_articles


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase(load_articles(default_corpus_path()))


def use(world: World, kb: KnowledgeBase, tool: str, **args: object) -> dict[str, object]:
    return TOOLS[tool].run(world, kb, args)


def test_worlds_are_independent_copies_of_the_seed() -> None:
    one, two = World.fresh("one"), World.fresh("two")
    one.orders["ORD-1003"]["status"] = "cancelled"
    assert two.orders["ORD-1003"]["status"] == "active"
    assert World.fresh("three").orders["ORD-1003"]["status"] == "active"
    state = two.state()
    assert state["world"] == "two"
    assert state["orders"]["ORD-1005"] == {"status": "pending"}
    assert (state["refunds"], state["escalations"], state["pending_confirmation"]) == ([], [], None)


def test_lookup_tools(kb: KnowledgeBase) -> None:
    world = World.fresh("w")
    order = use(world, kb, "lookup_order", order_id="ord-1001")
    assert order["found"] is True
    assert (order["id"], order["billing"], order["amount"]) == ("ORD-1001", "annual", 480.0)
    assert order["customer_email"] == "ana.silva@example.com"
    assert use(world, kb, "lookup_order", order_id="ORD-9999") == {
        "found": False,
        "order_id": "ORD-9999",
    }
    customer = use(world, kb, "lookup_customer", email="Chloe.Martin@example.org")
    assert [o["id"] for o in customer["orders"]] == ["ORD-1005", "ORD-1006"]  # type: ignore[attr-defined]
    refund = use(world, kb, "check_refund", order_id="ORD-1010")
    assert refund["refund"] == {
        "id": "RF-5002",
        "order_id": "ORD-1010",
        "amount": 576.0,
        "status": "processing",
        "created": "2025-03-18",
    }
    assert use(world, kb, "check_refund", order_id="ORD-1003")["refund"] is None


def test_changing_tools_write_the_state(kb: KnowledgeBase) -> None:
    world = World.fresh("w")
    use(world, kb, "ask_confirmation", action="cancel_order", order_id="ORD-1003")
    assert world.state()["pending_confirmation"] == {
        "action": "cancel_order",
        "order_id": "ORD-1003",
    }
    assert use(world, kb, "cancel_order", order_id="ORD-1003") == {
        "order_id": "ORD-1003",
        "status": "cancelled",
    }
    refund = use(world, kb, "issue_refund", order_id="ORD-1001", amount=480)
    assert refund == {
        "id": "RF-6001",
        "order_id": "ORD-1001",
        "amount": 480.0,
        "status": "processing",
    }
    ticket = use(
        world, kb, "escalate_to_human", reason="r", category="security", order_id="ORD-1012"
    )
    assert ticket == {"ticket": "ESC-1", "category": "security"}
    state = world.state()
    assert state["orders"]["ORD-1003"] == {"status": "cancelled"}
    assert state["orders"]["ORD-1001"] == {"status": "refunded"}
    assert state["refunds"] == [refund]
    assert state["escalations"] == [
        {"id": "ESC-1", "category": "security", "order_id": "ORD-1012", "reason": "r"}
    ]
    assert state["pending_confirmation"] is None  # the confirmed action cleared it


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("cancel_order", {"order_id": "ORD-1006"}, "ORD-1006 is cancelled and cannot be cancelled"),
        ("cancel_order", {}, "argument 'order_id' must be a non-empty string"),
        ("issue_refund", {"order_id": "ORD-1001", "amount": 481}, "exceeds the order total"),
        ("issue_refund", {"order_id": "ORD-1001", "amount": True}, "must be a positive number"),
        ("issue_refund", {"order_id": "ORD-1005", "amount": 10}, "pending: nothing to refund"),
        ("issue_refund", {"order_id": "ORD-4242", "amount": 10}, "no order ORD-4242"),
        ("escalate_to_human", {"reason": "x", "category": "vip"}, "category must be one of"),
        ("ask_confirmation", {"action": "delete", "order_id": "ORD-1001"}, "action must be one of"),
    ],
)
def test_tools_refuse_bad_calls(
    kb: KnowledgeBase, tool: str, args: dict[str, object], message: str
) -> None:
    world = World.fresh("w")
    with pytest.raises(ToolError, match=message):
        TOOLS[tool].run(world, kb, args)
    assert world.state() == World.fresh("w").state()  # a refused call changes nothing


def test_search_ranks_the_article_that_answers(kb: KnowledgeBase) -> None:
    hits = kb.search("What is your refund policy for annual plans?")
    assert hits[0].id == "kb-016"
    assert "within 14 days" in hits[0].snippet
    assert kb.search("PayPal")[0].id == "kb-012"
    assert kb.search("the of and") == []  # stopwords only
    assert words("Refunds, PLANS and the passwords") == ["refund", "plan", "password"]


def test_tool_schemas_name_required_arguments() -> None:
    schema = TOOLS["issue_refund"].schema()
    assert schema["name"] == "issue_refund"
    assert schema["parameters"]["required"] == ["order_id", "amount"]
    assert schema["parameters"]["properties"]["amount"] == {"type": "number"}


def test_order_ids_are_normalised() -> None:
    assert order_ids("cancel ord-1003 and Order #1012, not ORD-99999") == ["ORD-1003", "ORD-1012"]


def test_fault_decisions_are_seeded_per_conversation() -> None:
    config = AgentConfig(wrong_tool=0.5, extra_steps=0.5, seed=3)
    keys = [f"question {i}" for i in range(200)]
    first = [config.decide(k).wrong_tool for k in keys]
    assert first == [config.decide(k).wrong_tool for k in keys]
    assert 60 < sum(first) < 140
    other_seed = AgentConfig(wrong_tool=0.5, seed=4)
    assert first != [other_seed.decide(k).wrong_tool for k in keys]
    assert not any(AgentConfig().decide(k).wrong_tool for k in keys)
    assert all(AgentConfig(tool_errors=1.0).decide(k).tool_errors for k in keys)
    assert {config.decide(k).extra_calls for k in keys} == {1, 2, 3}


@pytest.mark.parametrize(
    "options",
    [{"wrong_tool": 1.5}, {"tool_errors": -0.1}, {"latency_ms": -1}, {"model_name": ""}],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(InputError):
        AgentConfig(**options)  # type: ignore[arg-type]


def test_command_and_flags() -> None:
    command = agent_command(faults={"forbidden_refund": 0.5, "latency_ms": 20, "seed": 7})
    assert command == [
        sys.executable,
        "-m",
        "cujeval.reference.agent",
        "--forbidden-refund",
        "0.5",
        "--latency-ms",
        "20.0",
        "--seed",
        "7",
    ]
    with pytest.raises(UnknownNameError, match="did you mean 'wrong_tool'"):
        agent_command(faults={"wrong_tol": 0.5})
    with pytest.raises(InputError):
        agent_command(faults={"extra_steps": 2})
    args = build_parser().parse_args([*command[3:], "--wrong-tool", "0.25", "--port", "9"])
    config = config_from_args(args)
    assert (config.forbidden_refund, config.latency_ms, config.seed) == (0.5, 20.0, 7)
    assert (config.wrong_tool, args.port, args.host) == (0.25, 9, "127.0.0.1")
    assert all(getattr(AgentConfig(), name) == 0.0 for name in AGENT_RATE_NAMES)
