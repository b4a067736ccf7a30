"""The agent's tools: plain functions of (world, arguments) -> result, and their schemas.

A tool raises :class:`ToolError` for a call it cannot carry out (a missing argument, an order
that cannot be cancelled); the agent reports it as the call's ``error``. Tools do not enforce
refund policy: deciding whether a refund is due is the agent's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.store import World

ESCALATION_CATEGORIES = (
    "user_request",
    "enterprise_contract",
    "refund_approval",
    "security",
    "billing_dispute",
)
CONFIRMABLE = ("cancel_order", "issue_refund")
READ_ONLY = frozenset({"lookup_order", "lookup_customer", "check_refund", "search_kb"})


class ToolError(Exception):
    """A call the tool refused; the message becomes the tool call's ``error``."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, str]  # name -> JSON type
    required: tuple[str, ...]
    run: Callable[[World, KnowledgeBase, Mapping[str, Any]], dict[str, Any]]

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema (also what the prompt-token count includes)."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": {
                "type": "object",
                "properties": {k: {"type": t} for k, t in self.parameters.items()},
                "required": list(self.required),
            },
        }


def _text(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"argument {name!r} must be a non-empty string")
    return value.strip()


def _order(world: World, args: Mapping[str, Any]) -> dict[str, Any]:
    order_id = _text(args, "order_id").upper()
    order = world.orders.get(order_id)
    if order is None:
        raise ToolError(f"no order {order_id}")
    return order


def lookup_order(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    order_id = _text(args, "order_id").upper()
    order = world.orders.get(order_id)
    if order is None:
        return {"found": False, "order_id": order_id}
    customer = world.customers[order["customer_id"]]
    return {"found": True, **order, "customer_email": customer["email"]}


def lookup_customer(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    email = _text(args, "email")
    customer = world.customer_by_email(email)
    if customer is None:
        return {"found": False, "email": email.lower()}
    orders = [
        {"id": o["id"], "product": o["product"], "billing": o["billing"], "status": o["status"]}
        for o in world.orders.values()
        if o["customer_id"] == customer["id"]
    ]
    return {"found": True, **customer, "orders": orders}


def cancel_order(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    order = _order(world, args)
    if order["status"] not in ("active", "pending"):
        raise ToolError(f"order {order['id']} is {order['status']} and cannot be cancelled")
    order["status"] = "cancelled"
    _clear_pending(world, "cancel_order", order["id"])
    return {"order_id": order["id"], "status": "cancelled"}


def issue_refund(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    order = _order(world, args)
    amount = args.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ToolError("argument 'amount' must be a positive number")
    if amount > order["amount"]:
        raise ToolError(f"refund of {amount:.2f} exceeds the order total {order['amount']:.2f}")
    if order["status"] in ("pending", "refunded"):
        raise ToolError(f"order {order['id']} is {order['status']}: nothing to refund")
    refund = {
        "id": f"RF-{6001 + len(world.new_refunds)}",
        "order_id": order["id"],
        "amount": float(amount),
        "status": "processing",
    }
    world.refunds.append(refund)
    world.new_refunds.append(refund)
    order["status"] = "refunded"
    _clear_pending(world, "issue_refund", order["id"])
    return dict(refund)


def check_refund(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    order_id = _text(args, "order_id").upper()
    if order_id not in world.orders:
        return {"found": False, "order_id": order_id}
    refund = world.refund_of(order_id)
    return {"found": True, "order_id": order_id, "refund": dict(refund) if refund else None}


def search_kb(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    hits = kb.search(_text(args, "query"))
    return {"results": [{"id": h.id, "title": h.title, "snippet": h.snippet} for h in hits]}


def escalate_to_human(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    reason = _text(args, "reason")
    category = args.get("category", "user_request")
    if category not in ESCALATION_CATEGORIES:
        raise ToolError(f"category must be one of {', '.join(ESCALATION_CATEGORIES)}")
    order_id = args.get("order_id")
    if order_id is not None and (
        not isinstance(order_id, str) or order_id.upper() not in world.orders
    ):
        raise ToolError(f"no order {order_id}")
    ticket = {
        "id": f"ESC-{len(world.escalations) + 1}",
        "category": category,
        "order_id": order_id.upper() if isinstance(order_id, str) else None,
        "reason": reason,
    }
    world.escalations.append(ticket)
    return {"ticket": ticket["id"], "category": category}


def ask_confirmation(world: World, kb: KnowledgeBase, args: Mapping[str, Any]) -> dict[str, Any]:
    action = _text(args, "action")
    if action not in CONFIRMABLE:
        raise ToolError(f"action must be one of {', '.join(CONFIRMABLE)}")
    order = _order(world, args)
    world.pending_confirmation = {"action": action, "order_id": order["id"]}
    return {"status": "awaiting_user", "action": action, "order_id": order["id"]}


def _clear_pending(world: World, action: str, order_id: str) -> None:
    if world.pending_confirmation == {"action": action, "order_id": order_id}:
        world.pending_confirmation = None


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "lookup_order",
            "Read an order by id.",
            {"order_id": "string"},
            ("order_id",),
            lookup_order,
        ),
        Tool(
            "lookup_customer",
            "Find a customer by email, with their orders.",
            {"email": "string"},
            ("email",),
            lookup_customer,
        ),
        Tool(
            "cancel_order",
            "Cancel an active or pending order. Ask the user to confirm first.",
            {"order_id": "string"},
            ("order_id",),
            cancel_order,
        ),
        Tool(
            "issue_refund",
            "Refund an order to the original payment method. Ask the user to confirm first.",
            {"order_id": "string", "amount": "number"},
            ("order_id", "amount"),
            issue_refund,
        ),
        Tool(
            "check_refund",
            "The refund of an order, if any, and its status.",
            {"order_id": "string"},
            ("order_id",),
            check_refund,
        ),
        Tool("search_kb", "Search the help centre.", {"query": "string"}, ("query",), search_kb),
        Tool(
            "escalate_to_human",
            "Open a ticket for a human agent.",
            {"reason": "string", "category": "string", "order_id": "string"},
            ("reason", "category"),
            escalate_to_human,
        ),
        Tool(
            "ask_confirmation",
            "Ask the user to confirm an action on an order before doing it.",
            {"action": "string", "order_id": "string"},
            ("action", "order_id"),
            ask_confirmation,
        ),
    )
}
